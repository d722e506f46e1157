import type { AspspEntity } from '../../../libs/persistence/entities/aspsp.entity';
import type { CityEntity } from '../../../libs/persistence/entities/city.entity';
import type { CountryEntity } from '../../../libs/persistence/entities/country.entity';

/** Explicit response shapes (OPE `country`, `city`, `aspspListItem`, `aspsp`): entities are never serialised. */
export const toCountryDto = (c: CountryEntity) => ({ id: c.id, isoCountryCode: c.isoCountryCode, name: c.name });

export const toCityDto = (c: CityEntity) => ({ cityId: c.id, name: c.name, countryId: c.countryId });

export const toAspspListItemDto = (a: AspspEntity) => ({
  id: a.id,
  bicFi: a.bicFi,
  name: a.name,
  ...(a.logoUrl ? { logoUrl: a.logoUrl } : {}),
});

/**
 * `sandboxWebsiteUrl`: where this deployment serves this sandbox bank (`sandbox-website.ts`, from
 * configuration, not the directory row: its port, host and scheme differ per deployment).
 */
export function toAspspDto(a: AspspEntity, city: CityEntity | null, country: CountryEntity | null, sandboxWebsiteUrl: string | undefined) {
  const websiteUrl = a.isSandbox ? sandboxWebsiteUrl : a.websiteUrl;
  return {
    id: a.id,
    bicFi: a.bicFi,
    name: a.name,
    ...(a.companyNumber ? { companyNumber: a.companyNumber } : {}),
    ...(a.phone ? { phone: a.phone } : {}),
    ...(city ? { city: city.name } : {}),
    ...(country ? { country: country.name } : {}),
    ...(a.postalCode ? { postalCode: a.postalCode } : {}),
    ...(a.streetAddress ? { streetAddress: a.streetAddress } : {}),
    ...(websiteUrl ? { websiteUrl } : {}),
    ...(a.logoUrl ? { logoUrl: a.logoUrl } : {}),
    globalPaymentProducts: a.paymentProducts,
    // Clearway extensions (the OPE schema allows additional properties): how the bank is reached and authorised.
    protocol: a.protocol,
    supportedScaApproaches: a.scaApproaches,
    sandbox: a.isSandbox,
  };
}
