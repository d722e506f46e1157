import { Controller, Get, Inject, Param, Query, UseGuards } from '@nestjs/common';
import type { ClearwayConfig } from '../../../libs/config/config';
import { isUuid } from '../../../libs/domain/ids';
import { DirectoryRepository } from '../../../libs/persistence/directory.repository';
import { ApiError } from '../common/api-error';
import { bicFiParameter } from '../common/request-headers';
import { AuthGuard, RequiresService } from '../auth/auth.guard';
import { CLEARWAY_CONFIG } from '../temporal/temporal.tokens';
import { toAspspDto, toAspspListItemDto, toCityDto, toCountryDto } from './aspsp.mapper';
import { sandboxWebsiteUrl } from './sandbox-website';

/** ASPSP Information Service: the directory of countries, cities and banks. */
@Controller('psd2/aspspinformation/v1')
@UseGuards(AuthGuard)
@RequiresService('aspspinformation')
export class AspspInformationController {
  constructor(
    @Inject(DirectoryRepository) private readonly directory: DirectoryRepository,
    @Inject(CLEARWAY_CONFIG) private readonly config: ClearwayConfig,
  ) {}

  @Get('countries')
  async countries(@Query('isoCountryCodes') isoCountryCodes?: string) {
    return (await this.directory.listCountries(countryCodes(isoCountryCodes))).map(toCountryDto);
  }

  @Get('countries/:isoCountryCode')
  async country(@Param('isoCountryCode') code: string) {
    if (!/^[A-Za-z]{2}$/.test(code)) throw ApiError.format('isoCountryCode', 'must be an ISO 3166 alpha-2 code');
    const country = await this.directory.findCountry(code.toUpperCase());
    if (!country) throw ApiError.notFound(`Country ${code}`);
    return toCountryDto(country);
  }

  @Get('cities')
  async cities(@Query('isoCountryCodes') isoCountryCodes?: string, @Query('cityIds') cityIds?: string) {
    const cities = await this.directory.listCities({ isoCountryCodes: countryCodes(isoCountryCodes), cityIds: uuids('cityIds', cityIds) });
    return cities.map(toCityDto);
  }

  @Get('cities/:cityId')
  async city(@Param('cityId') cityId: string) {
    if (!isUuid(cityId)) throw ApiError.format('cityId', 'must be a UUID');
    const city = await this.directory.findCity(cityId);
    if (!city) throw ApiError.notFound(`City ${cityId}`);
    return toCityDto(city);
  }

  @Get('aspsps')
  async aspsps(@Query('isoCountryCodes') isoCountryCodes?: string, @Query('cityIds') cityIds?: string) {
    const aspsps = await this.directory.listAspsps({ isoCountryCodes: countryCodes(isoCountryCodes), cityIds: uuids('cityIds', cityIds) });
    return aspsps.map(toAspspListItemDto);
  }

  @Get('aspsps/:bicFi')
  async aspsp(@Param('bicFi') bicFi: string) {
    const aspsp = await this.directory.findAspsp(bicFiParameter('bicFi', bicFi));
    if (!aspsp) throw ApiError.notFound(`ASPSP ${bicFi}`);
    const city = await this.directory.findCity(aspsp.cityId);
    const country = await this.directory.findCountry(aspsp.isoCountryCode);
    return toAspspDto(aspsp, city, country, sandboxWebsiteUrl(aspsp, this.config));
  }
}

/**
 * `isoCountryCodes=SE,FI`: comma separated, as the OPE examples show; the OpenAPI default for an
 * array in the query (`isoCountryCodes=SE&isoCountryCodes=FI`) is read the same way.
 */
function countryCodes(raw: unknown): string[] | undefined {
  const list = csv('isoCountryCodes', raw);
  for (const code of list ?? []) {
    if (!/^[A-Za-z]{2}$/.test(code)) throw ApiError.format('isoCountryCodes', `"${code}" is not an ISO 3166 alpha-2 code`);
  }
  return list?.map((c) => c.toUpperCase());
}

function uuids(name: string, raw: unknown): string[] | undefined {
  const list = csv(name, raw);
  for (const id of list ?? []) if (!isUuid(id)) throw ApiError.format(name, `"${id}" is not a UUID`);
  return list;
}

function csv(name: string, raw: unknown): string[] | undefined {
  if (raw === undefined) return undefined;
  const values = Array.isArray(raw) ? raw : [raw];
  if (!values.every((v): v is string => typeof v === 'string')) throw ApiError.format(name, 'must be a comma-separated list');
  const list = values.flatMap((v) => v.split(',')).map((s) => s.trim());
  // `cityIds=` or `cityIds=a,,b` is not "no filter": leave the parameter out to list everything.
  if (list.some((s) => s === '')) throw ApiError.format(name, 'has an empty entry; leave the parameter out to list all');
  return list;
}
