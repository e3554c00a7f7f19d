export { buildApp, type BuiltApp } from './app.js';
export { loadConfig, ConfigError, type Config } from './config.js';
