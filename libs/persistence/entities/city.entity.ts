import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'cities' })
export class CityEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column({ type: 'varchar', length: 140 })
  name!: string;

  @Column({ name: 'country_id', type: 'uuid' })
  countryId!: string;

  @Column({ name: 'iso_country_code', type: 'char', length: 2 })
  isoCountryCode!: string;
}
