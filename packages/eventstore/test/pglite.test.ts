import { PGlite } from '@electric-sql/pglite';
import { pgliteDatabase } from '../src/index.js';
import { eventStoreContract } from './contract.js';

let pglite: PGlite | undefined;

eventStoreContract('PGlite', {
  concurrentTransactions: false,
  async open() {
    pglite = await PGlite.create();
    return pgliteDatabase(pglite);
  },
  async close() {
    await pglite?.close();
  },
});
