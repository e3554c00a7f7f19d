import { initial } from './001-initial.js';
import type { Migration } from './migration.js';

/** Every migration, in order. Append new ones; never edit one that has shipped. */
export const MIGRATIONS: readonly Migration[] = [initial];

export type { Migration } from './migration.js';
