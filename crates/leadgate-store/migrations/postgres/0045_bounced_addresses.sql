-- Addresses that bounced: an email to one is refused until the address is corrected.
CREATE INDEX emails_bounced ON emails (to_address) WHERE state = 'bounced';
