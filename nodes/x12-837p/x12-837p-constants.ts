/** Content type of stored X12 interchanges (RFC 1767). */
export const X12_CONTENT_TYPE = 'application/edi-x12';
/** The control-number file in the hub's providers dir. */
export const CONTROL_NUMBERS_FILE = 'x12-control-numbers.db';
