import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'countries' })
export class CountryEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column({ name: 'iso_country_code', type: 'char', length: 2, unique: true })
  isoCountryCode!: string;

  @Column({ type: 'varchar', length: 140 })
  name!: string;
}
