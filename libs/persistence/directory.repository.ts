import { In, type DataSource, type FindOptionsWhere } from 'typeorm';
import { AspspEntity } from './entities/aspsp.entity';
import { CityEntity } from './entities/city.entity';
import { CountryEntity } from './entities/country.entity';

/** The ASPSP directory: public reference data, not tenant-scoped. */
export class DirectoryRepository {
  constructor(private readonly ds: DataSource) {}

  listCountries(isoCountryCodes?: string[]): Promise<CountryEntity[]> {
    const where: FindOptionsWhere<CountryEntity> = isoCountryCodes?.length ? { isoCountryCode: In(isoCountryCodes) } : {};
    return this.ds.getRepository(CountryEntity).find({ where, order: { isoCountryCode: 'ASC' } });
  }

  findCountry(isoCountryCode: string): Promise<CountryEntity | null> {
    return this.ds.getRepository(CountryEntity).findOneBy({ isoCountryCode });
  }

  listCities(filter: { isoCountryCodes?: string[]; cityIds?: string[] }): Promise<CityEntity[]> {
    const where: FindOptionsWhere<CityEntity> = {};
    if (filter.isoCountryCodes?.length) where.isoCountryCode = In(filter.isoCountryCodes);
    if (filter.cityIds?.length) where.id = In(filter.cityIds);
    return this.ds.getRepository(CityEntity).find({ where, order: { name: 'ASC' } });
  }

  findCity(id: string): Promise<CityEntity | null> {
    return this.ds.getRepository(CityEntity).findOneBy({ id });
  }

  listAspsps(filter: { isoCountryCodes?: string[]; cityIds?: string[] }): Promise<AspspEntity[]> {
    const where: FindOptionsWhere<AspspEntity> = {};
    if (filter.isoCountryCodes?.length) where.isoCountryCode = In(filter.isoCountryCodes);
    if (filter.cityIds?.length) where.cityId = In(filter.cityIds);
    return this.ds.getRepository(AspspEntity).find({ where, order: { name: 'ASC' } });
  }

  findAspsp(bicFi: string): Promise<AspspEntity | null> {
    return this.ds.getRepository(AspspEntity).findOneBy({ bicFi });
  }

  /**
   * Does this bank offer bulk payments, and for which products (JSON and pain.001)? Undefined for
   * an unknown bank. What routing asks before making a bulk of a batch's PmtInf.
   */
  async bulkPaymentOffer(bicFi: string): Promise<{ offered: boolean; products: string[] } | undefined> {
    const aspsp = await this.findAspsp(bicFi);
    if (!aspsp) return undefined;
    return { offered: aspsp.bulkPaymentProducts.length > 0, products: [...aspsp.bulkPaymentProducts] };
  }
}
