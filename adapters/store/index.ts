export * from './types';
export { BodyCipher, CryptoError, parseKeyList } from './body-cipher';
export { createMessageStore } from './create-store';
export type { CreateStoreOptions } from './create-store';
export { EncryptedMessageStore } from './message-store';
export { MessageNotFoundError, StoreError } from './errors';
export { newMessageId, isMessageId } from './message-id';
export { makePatientKeyer } from './patient-key';
