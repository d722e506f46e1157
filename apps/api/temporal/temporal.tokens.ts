/** DI tokens for things that are not classes. */
export const TEMPORAL_CLIENT = Symbol('TEMPORAL_CLIENT');
export const CLEARWAY_CONFIG = Symbol('CLEARWAY_CONFIG');
export const LOGGER = Symbol('LOGGER');
