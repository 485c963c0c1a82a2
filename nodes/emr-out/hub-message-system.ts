/** Identifier system under which emr-out creates a resource without a business identifier, once per hub message. */
export const HUB_MESSAGE_SYSTEM = 'urn:ivf-hub:hub-message-id';
