/**
 * What analysts' SQL may run, decided by the engine's own parser, not by patterns over the
 * text: `formatQuery` parses exactly one statement (it refuses "SELECT 1; SELECT 2") and
 * gives back its canonical text, and `EXPLAIN AST` of that text names the statement's kind
 * and every table, table function and qualified name it touches. The canonical text is
 * what then runs, so what was checked is what executes.
 *
 * Allowed: SELECT / WITH / EXPLAIN (of a SELECT) / DESCRIBE / SHOW TABLES / SHOW CREATE,
 * over the analyst tables only (`<db>.events`), plus a few generator table functions.
 * Refused: KILL, SYSTEM, SHOW PROCESSLIST and every other statement; `system.*`,
 * `information_schema.*` and the sidecar's internal tables (destinations, export positions,
 * sequences, migrations); table functions that read files, URLs or other tables; FORMAT
 * and INTO OUTFILE.
 */
import type { ClickHouseClient } from '@clickhouse/client';

export class AnalystSqlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AnalystSqlError';
  }
}

/** The tables of the store's database analysts read (views made for them would be listed here). */
export const ANALYST_TABLES: ReadonlyArray<string> = ['events'];

/** Table functions that read nothing but their arguments. */
const GENERATORS = new Set(['numbers', 'numbers_mt', 'zeros', 'zeros_mt', 'values', 'generate_series', 'generateseries', 'null']);
/** Databases a qualified name may not point into (except the analyst tables). */
const SYSTEM_DATABASES = new Set(['system', 'information_schema', '_temporary_and_external_tables', 'default']);

interface AstLine {
  depth: number;
  kind: string;
  arg: string;
}

function parseAst(text: string): AstLine[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const depth = line.length - line.trimStart().length;
      const body = line.trim().replace(/\s+\(children \d+\)$/, '').replace(/\s+\(alias [^)]*\)$/, '');
      const space = body.indexOf(' ');
      return { depth, kind: space < 0 ? body : body.slice(0, space), arg: space < 0 ? '' : body.slice(space + 1) };
    });
}

const unquote = (name: string) => name.replace(/`/g, '').replace(/"/g, '');

export interface AnalystSqlPolicy {
  database: string;
  /** Tables of `database` analysts may read. */
  tables: ReadonlyArray<string>;
}

/** Throws AnalystSqlError naming what is not allowed; returns the canonical statement to run. */
export async function checkAnalystSql(parser: ClickHouseClient, sql: string, policy: AnalystSqlPolicy): Promise<string> {
  let canonical: string;
  let ast: AstLine[];
  try {
    const formatted = await parser.query({ query: 'SELECT formatQuery({sql:String}) AS q', query_params: { sql }, format: 'JSONEachRow' });
    canonical = ((await formatted.json<{ q: string }>())[0]?.q ?? '').trim();
    // exec, not query: query() appends a FORMAT clause, which would become part of the
    // statement's AST (and EXPLAIN as a subquery shows the AST after rewriting: FROM system.one).
    const explained = await parser.exec({ query: `EXPLAIN AST ${canonical}`, clickhouse_settings: { default_format: 'JSONEachRow' } });
    let text = '';
    for await (const chunk of explained.stream) text += (chunk as Buffer).toString();
    ast = parseAst(
      text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => (JSON.parse(line) as { explain: string }).explain)
        .join('\n'),
    );
  } catch (error) {
    throw new AnalystSqlError((error as Error).message.split('\n')[0]!.replace(/^Code: \d+\. DB::Exception: /, ''));
  }
  const root = ast[0];
  if (!root) throw new AnalystSqlError('empty statement');
  const allowed = new Set(policy.tables.map((t) => `${policy.database}.${t}`));
  const allowedTable = (name: string) => allowed.has(unquote(name));
  const children = ast.filter((line) => line.depth === root.depth + 1);

  switch (root.kind) {
    case 'SelectWithUnionQuery':
    case 'SelectIntersectExceptQuery':
      // Child 1: the selects; a second child is FORMAT (an Identifier) or INTO OUTFILE (a Literal).
      if (children.length > 1) throw new AnalystSqlError('FORMAT and INTO OUTFILE are not allowed (the API answers JSON; the CLI takes --format)');
      break;
    case 'Explain':
      if (children.length !== 1 || !['SelectWithUnionQuery', 'SelectIntersectExceptQuery'].includes(children[0]!.kind)) {
        throw new AnalystSqlError('EXPLAIN is allowed for SELECT statements only');
      }
      break;
    case 'DescribeQuery':
      break;
    case 'ShowTables': // SHOW TABLES [FROM db], SHOW DATABASES: names only, of the analyst database
      if (children.some((c) => c.kind === 'Identifier' && unquote(c.arg) !== policy.database)) {
        throw new AnalystSqlError(`SHOW TABLES is allowed for the ${policy.database} database only`);
      }
      break;
    case 'ShowCreateTableQuery': {
      const [db, table] = children.map((c) => unquote(c.arg));
      if (!allowedTable(`${db}.${table}`)) throw new AnalystSqlError(`SHOW CREATE is allowed for ${[...allowed].join(', ')} only`);
      break;
    }
    default:
      throw new AnalystSqlError(`${root.kind.replace(/Query$/, '')} statements are not allowed: use SELECT, WITH, EXPLAIN, DESCRIBE or SHOW`);
  }

  for (let i = 1; i < ast.length; i++) {
    const line = ast[i]!;
    const parent = [...ast.slice(0, i)].reverse().find((p) => p.depth < line.depth);
    if (line.kind === 'TableIdentifier') {
      const name = unquote(line.arg);
      // Unqualified: a WITH name or a table of the session's database, which holds none (the store lives in `database`).
      if (name.includes('.') && !allowedTable(name)) throw new AnalystSqlError(`table ${name} is not open to analysts (use ${[...allowed].join(', ')})`);
    } else if (line.kind === 'Function' && parent?.kind === 'TableExpression') {
      if (!GENERATORS.has(line.arg.toLowerCase())) throw new AnalystSqlError(`table function ${line.arg} is not allowed`);
    } else if (line.kind === 'Identifier' && line.arg.includes('.')) {
      // `x IN db.table` names a table with a plain identifier.
      const [db, table] = unquote(line.arg).split('.');
      if ((db === policy.database || SYSTEM_DATABASES.has(db!.toLowerCase())) && !allowedTable(`${db}.${table}`)) {
        throw new AnalystSqlError(`table ${db}.${table} is not open to analysts (use ${[...allowed].join(', ')})`);
      }
    }
  }
  return canonical;
}
