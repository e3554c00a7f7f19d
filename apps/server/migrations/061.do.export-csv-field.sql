-- One CSV field of an export, rendered by the database (same rules as csvField in
-- src/exports/format.ts): NULL is empty; a leading = + - @ tab or CR is prefixed with ' (so
-- spreadsheets do not run it as a formula); a field holding a comma, quote, CR or LF is quoted
-- with its quotes doubled. A single-statement SQL function, inlined into the export query.
CREATE OR REPLACE FUNCTION export_csv_field(v text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN v IS NULL THEN ''
    WHEN v ~ '^[=+\-@\t\r]' THEN
      CASE WHEN v ~ '[",\r\n]' THEN '"''' || replace(v, '"', '""') || '"' ELSE '''' || v END
    WHEN v ~ '[",\r\n]' THEN '"' || replace(v, '"', '""') || '"'
    ELSE v
  END
$$;
