import type { ScaStatus } from '../../libs/domain/transaction-status';

/**
 * One step of PSU data at the bank (BG "Update PSU Data"): identification (PSU-ID only), then, for
 * the embedded approach, credentials, the SCA method, the OTP. Secrets travel as a sealed hand-off id.
 */
export type PsuDataKind = 'identification' | 'credentials' | 'selectMethod' | 'otp';

export interface PsuDataUpdateRequest {
  authorisationId: string;
  kind: PsuDataKind;
  /** Sealed hand-off holding the password / method / OTP; none for identification. */
  handoffId?: string;
}

export interface ScaMethodSummary {
  authenticationType: string;
  authenticationMethodId: string;
  name?: string;
}

export interface PsuDataUpdateSummary {
  scaStatus: ScaStatus;
  scaMethods?: ScaMethodSummary[];
  chosenScaMethod?: ScaMethodSummary;
  challengeData?: { otpMaxLength?: number; otpFormat?: 'characters' | 'integer'; additionalInformation?: string; data?: string[] };
  psuMessage?: string;
}
