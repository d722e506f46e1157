import type { DataSource } from 'typeorm';
import { BankRegistrationEntity } from './entities/bank-registration.entity';

/** The `client_id` each bank issued Clearway (DCR). The first one stored wins a race. */
export class BankRegistrationRepository {
  constructor(private readonly ds: DataSource) {}

  async find(bicFi: string, baseUrl: string): Promise<string | undefined> {
    return (await this.ds.getRepository(BankRegistrationEntity).findOneBy({ bicFi, baseUrl }))?.clientId;
  }

  async save(bicFi: string, baseUrl: string, clientId: string): Promise<string> {
    await this.ds.createQueryBuilder().insert().into(BankRegistrationEntity).values({ bicFi, baseUrl, clientId }).orIgnore().execute();
    return (await this.find(bicFi, baseUrl)) ?? clientId;
  }

  /** The bank no longer knows the client (it answered invalid_client): register again. */
  async forget(bicFi: string, baseUrl: string, clientId: string): Promise<void> {
    await this.ds.getRepository(BankRegistrationEntity).delete({ bicFi, baseUrl, clientId });
  }
}
