export { isCI, serviceUrl, optionalServiceUrl, type ServiceVariable } from './services.js';
export { createTestDatabase, type TestDatabase } from './database.js';
