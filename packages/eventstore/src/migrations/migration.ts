/** One numbered schema change. `statements` receives the quoted schema name. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  statements(quotedSchema: string): readonly string[];
}
