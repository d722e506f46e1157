/**
 * The sandbox banks' BICs that code outside the sandboxes must know: the Paysera-profile bank
 * is served by its own sandbox (https, mTLS), so its URL comes from SANDBOX_PAYSERA_URL and its
 * public website from the Paysera sandbox's public URL, not from the Berlin Group sandbox's.
 */
export const PAYSERA_SANDBOX_BIC = 'SANDLT21XXX';
