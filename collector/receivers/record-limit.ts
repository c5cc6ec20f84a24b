/**
 * A request holds more records than a receiver takes. Decoders throw it as soon as they
 * pass the limit, so a request over it costs work in proportion to the limit, not to the body.
 */
export class RecordLimitError extends Error {
  constructor(readonly limit: number) {
    super(`the request holds more than ${limit} records (the limit per request)`);
    this.name = 'RecordLimitError';
  }
}
