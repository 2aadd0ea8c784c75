// Independent-reader check of the Parquet writer (src/telemetry/parquet): runs
// parquet-sample-writer (tests/parquet/write_sample.cc) and reads its files back with two readers
// that share no code with ours, DuckDB (@duckdb/node-api) and hyparquet (+ hyparquet-compressors
// for ZSTD). Every cell is compared with sampleRow(i), a copy of sample_row() in write_sample.cc,
// and the footer (schema, logical types, row groups, min/max/null-count statistics) with what
// the rows imply.
//
// The writer binary comes from SB_PARQUET_SAMPLE_WRITER (ctest sets it), else
// build/tests/parquet-sample-writer. The npm packages are the ones pinned in tests/e2e.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');

// Bare imports resolve from the importing file's folder, not the working directory, and this
// file is outside tests/e2e: resolve the packages through tests/e2e/package.json instead.
const e2eRequire = createRequire(path.join(repoRoot, 'tests', 'e2e', 'package.json'));
const load = (name) => import(pathToFileURL(e2eRequire.resolve(name)).href);
const { DuckDBInstance } = await load('@duckdb/node-api');
const { parquetMetadata, parquetReadObjects, parquetSchema } = await load('hyparquet');
const { compressors } = await load('hyparquet-compressors');

const ROWS = 3000;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const WORDS = ['', 'a', 'héllo', '日本語', '🚀 launch', 'zürich-ß', 'plain ascii'];
const COLUMNS = ['flag', 'id', 'big', 'ratio', 'name', 'ts', 'note'];

// Row i as write_sample.cc's sample_row(i) writes it; timestamps as bigint microseconds.
function sampleRow(i) {
    let ratio = (i - 1500) / 16;
    if (i % 13 === 7) ratio = null;
    else if (i === 0) ratio = -0;
    else if (i === 8) ratio = NaN;
    else if (i === 9) ratio = 1e300;
    else if (i === 10) ratio = -1e-300;

    let ts = 1700000000000000n + BigInt(i) * 1000003n;
    if (i % 17 === 16) ts = null;
    else if (i === 0) ts = 0n;
    else if (i === 1) ts = -1n;
    else if (i === 2) ts = 253402300799999999n;

    let big = BigInt(i - 1000) * 1000000007n;
    if (i % 11 === 5) big = null;
    else if (i === 3) big = INT64_MIN;
    else if (i === 4) big = INT64_MAX;

    return {
        flag: i % 7 === 0 ? null : i % 3 === 0,
        id: i === 1 ? INT32_MIN : i === 2 ? INT32_MAX : i * 37 - 5000,
        big,
        ratio,
        name: i % 9 === 4 ? null : WORDS[i % 7] + (i % 2 === 1 ? `-${i}` : ''),
        ts,
        note: `row-${i}`,
    };
}

const expectedRows = Array.from({ length: ROWS }, (_, i) => sampleRow(i));

// Unsigned bytewise order of UTF-8, the ColumnOrder for STRING.
const compareUtf8 = (a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
const compareNumbers = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

// min/max/null count of one column over rows[begin, end) as the Parquet spec orders them:
// signed integers, false < true, UTF-8 bytes unsigned, doubles without NaN (and zero bounds
// as -0 / +0).
function expectedStats(column, begin, end) {
    const values = expectedRows.slice(begin, end).map((r) => r[column]);
    const present = values.filter((v) => v !== null);
    const nullCount = values.length - present.length;
    let ordered = present;
    if (column === 'ratio') ordered = present.filter((v) => !Number.isNaN(v));
    if (ordered.length === 0) return { nullCount, min: undefined, max: undefined };
    const compare = column === 'name' || column === 'note' ? compareUtf8 : compareNumbers;
    const sorted = [...ordered].sort(compare);
    let min = sorted[0];
    let max = sorted[sorted.length - 1];
    if (column === 'ratio') {
        if (min === 0) min = -0;
        if (max === 0) max = 0;
    }
    return { nullCount, min, max };
}

let dir;
const file = (name) => path.join(dir, name);

before(() => {
    const writer =
        process.env.SB_PARQUET_SAMPLE_WRITER ||
        path.join(repoRoot, 'build', 'tests', 'parquet-sample-writer');
    assert.ok(fs.existsSync(writer), `${writer} does not exist (build parquet-sample-writer)`);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-parquet-'));
    execFileSync(writer, [dir], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 60_000 });
});

after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('DuckDB', () => {
    let instance;
    let db;

    before(async () => {
        instance = await DuckDBInstance.create(':memory:');
        db = await instance.connect();
        await db.run(`SET TimeZone = 'UTC'`);
    });

    after(() => {
        db?.closeSync();
        instance?.closeSync();
    });

    const query = async (sql) => (await db.runAndReadAll(sql)).getRowObjects();

    // Converts DuckDB's value objects to the plain values sampleRow() uses.
    const plain = (value) =>
        value && typeof value === 'object' && 'micros' in value ? value.micros : value;
    const describeColumns = async (name) =>
        (await query(`DESCRIBE SELECT * FROM read_parquet('${file(name)}')`)).map((t) => [
            t.column_name,
            t.column_type,
        ]);

    for (const name of ['types_zstd.parquet', 'types_plain.parquet']) {
        test(`${name}: every cell, in file order`, async () => {
            const rows = await query(
                `SELECT * FROM read_parquet('${file(name)}', file_row_number = true)
                 ORDER BY file_row_number`,
            );
            assert.equal(rows.length, ROWS);
            rows.forEach((row, i) => {
                const got = Object.fromEntries(COLUMNS.map((c) => [c, plain(row[c])]));
                assert.deepEqual(got, expectedRows[i], `row ${i}`);
                assert.equal(row.file_row_number, BigInt(i));
            });
        });

        test(`${name}: schema, logical types and file metadata`, async () => {
            const schema = await query(`SELECT * FROM parquet_schema('${file(name)}')`);
            const byName = Object.fromEntries(schema.map((s) => [s.name, s]));
            assert.equal(schema[0].name, 'schema');
            assert.equal(schema[0].num_children, 7n);
            const expected = {
                flag: ['BOOLEAN', 'OPTIONAL', null, 'BOOLEAN'],
                id: ['INT32', 'REQUIRED', null, 'INTEGER'],
                big: ['INT64', 'OPTIONAL', null, 'BIGINT'],
                ratio: ['DOUBLE', 'OPTIONAL', null, 'DOUBLE'],
                name: ['BYTE_ARRAY', 'OPTIONAL', 'UTF8', 'VARCHAR'],
                ts: ['INT64', 'OPTIONAL', 'TIMESTAMP_MICROS', 'TIMESTAMP WITH TIME ZONE'],
                note: ['BYTE_ARRAY', 'REQUIRED', 'UTF8', 'VARCHAR'],
            };
            for (const [column, want] of Object.entries(expected)) {
                const [type, repetition, converted, duckdbType] = want;
                const s = byName[column];
                assert.equal(s.type, type, column);
                assert.equal(s.repetition_type, repetition, column);
                assert.equal(s.converted_type, converted, column);
                assert.equal(s.duckdb_type, duckdbType, column);
            }
            assert.equal(byName.name.logical_type, 'StringType()');
            assert.match(
                byName.ts.logical_type,
                /^TimestampType\(isAdjustedToUTC=1, unit=TimeUnit\(.*MICROS=MicroSeconds\(\)/,
            );
            assert.deepEqual(await describeColumns(name), [
                ['flag', 'BOOLEAN'],
                ['id', 'INTEGER'],
                ['big', 'BIGINT'],
                ['ratio', 'DOUBLE'],
                ['name', 'VARCHAR'],
                ['ts', 'TIMESTAMP WITH TIME ZONE'],
                ['note', 'VARCHAR'],
            ]);

            const [meta] = await query(`SELECT * FROM parquet_file_metadata('${file(name)}')`);
            assert.equal(meta.created_by, 'switchboard');
            assert.equal(meta.num_rows, BigInt(ROWS));
            assert.equal(meta.format_version, 1n);
            assert.equal(meta.column_orders.items.length, 7);
            for (const order of meta.column_orders.items) {
                assert.match(order, /TYPE_ORDER=TypeDefinedOrder/);
            }
        });

        test(`${name}: column chunk statistics, sizes and offsets`, async () => {
            const chunks = await query(
                `SELECT * FROM parquet_metadata('${file(name)}') ORDER BY row_group_id, column_id`,
            );
            const zstd = name.includes('zstd');
            const groups = new Map();
            for (const chunk of chunks) groups.set(chunk.row_group_id, chunk.row_group_num_rows);
            if (zstd) assert.ok(groups.size >= 5, `${groups.size} row groups`);
            else assert.equal(groups.size, 2);
            const starts = new Map();
            let start = 0;
            for (const [id, rows] of groups) {
                starts.set(id, start);
                start += Number(rows);
            }
            assert.equal(start, ROWS);

            let previousEnd = 4n; // "PAR1"
            for (const chunk of chunks) {
                const column = chunk.path_in_schema;
                const begin = starts.get(chunk.row_group_id);
                const rows = Number(chunk.row_group_num_rows);
                const want = expectedStats(column, begin, begin + rows);
                const where = `${column} in row group ${chunk.row_group_id}`;

                assert.equal(chunk.compression, zstd ? 'ZSTD' : 'UNCOMPRESSED', where);
                assert.equal(chunk.num_values, BigInt(rows), where);
                assert.equal(chunk.stats_null_count, BigInt(want.nullCount), where);
                assert.equal(chunk.stats_min, null, where); // deprecated fields stay unset
                assert.equal(chunk.stats_max, null, where);
                assert.equal(chunk.min_is_exact, true, where);
                assert.equal(chunk.max_is_exact, true, where);
                // Chunks follow each other with no gap, starting right after the magic.
                assert.equal(chunk.data_page_offset, previousEnd, where);
                previousEnd = chunk.data_page_offset + chunk.total_compressed_size;
                if (!zstd) {
                    assert.equal(chunk.total_compressed_size, chunk.total_uncompressed_size, where);
                }

                const { stats_min_value: min, stats_max_value: max } = chunk;
                switch (column) {
                    case 'flag':
                        assert.deepEqual([min, max], [String(want.min), String(want.max)], where);
                        break;
                    case 'id':
                        assert.deepEqual([Number(min), Number(max)], [want.min, want.max], where);
                        break;
                    case 'big':
                        assert.deepEqual([BigInt(min), BigInt(max)], [want.min, want.max], where);
                        break;
                    case 'ratio':
                        assert.deepEqual([Number(min), Number(max)], [want.min, want.max], where);
                        break;
                    case 'name':
                    case 'note':
                        assert.deepEqual([min, max], [want.min, want.max], where);
                        break;
                    case 'ts': {
                        const [bounds] = await query(
                            `SELECT epoch_us('${min}'::TIMESTAMPTZ) AS min,
                                    epoch_us('${max}'::TIMESTAMPTZ) AS max`,
                        );
                        assert.deepEqual([bounds.min, bounds.max], [want.min, want.max], where);
                        break;
                    }
                    default:
                        assert.fail(`unexpected column ${column}`);
                }
            }
            const size = BigInt(fs.statSync(file(name)).size);
            const [meta] = await query(
                `SELECT footer_size FROM parquet_file_metadata('${file(name)}')`,
            );
            assert.equal(previousEnd + meta.footer_size + 8n, size, 'footer after the chunks');
        });

        test(`${name}: filters that statistics may prune still find their rows`, async () => {
            const count = async (where) => {
                const from = `read_parquet('${file(name)}')`;
                const sql = `SELECT count(*) AS n FROM ${from} WHERE ${where}`;
                return Number((await query(sql))[0].n);
            };
            const expectCount = (predicate) => expectedRows.filter(predicate).length;
            assert.equal(await count('id = 2147483647'), 1);
            assert.equal(await count('id = -2147483648'), 1);
            assert.equal(await count('big = -9223372036854775808'), 1);
            assert.equal(await count('big < 0'), expectCount((r) => r.big !== null && r.big < 0n));
            const japanese = expectCount((r) => r.name === '日本語');
            assert.equal(await count(`name = '日本語'`), japanese);
            assert.equal(
                await count(`name >= '🚀'`),
                expectCount((r) => r.name !== null && compareUtf8(r.name, '🚀') >= 0),
            );
            assert.equal(await count(`ts < TIMESTAMPTZ '1970-01-01 00:00:00+00'`), 1);
            // DuckDB orders NaN above every number: 1e300 and the NaN row.
            assert.equal(await count('ratio > 1e299'), 2);
            assert.equal(
                await count('ratio < -93.6'),
                expectCount((r) => r.ratio !== null && r.ratio < -93.6),
            );
            assert.equal(await count('isnan(ratio)'), 1);
            assert.equal(await count('flag IS NULL'), expectCount((r) => r.flag === null));
        });
    }

    test('edge.parquet: all-null, all-NaN, constant and over-long columns', async () => {
        const rows = await query(`SELECT * FROM read_parquet('${file('edge.parquet')}')`);
        assert.equal(rows.length, 10);
        rows.forEach((row, i) => {
            assert.equal(row.nothing, null);
            assert.ok(Number.isNaN(row.nan_only));
            assert.equal(row.always, true);
            assert.equal(row.text, i === 3 ? 'x'.repeat(5000) : 'short');
        });
        const chunks = await query(
            `SELECT * FROM parquet_metadata('${file('edge.parquet')}') ORDER BY column_id`,
        );
        const stats = chunks.map((c) => [
            c.path_in_schema,
            c.stats_min_value,
            c.stats_max_value,
            c.stats_null_count,
        ]);
        assert.deepEqual(stats, [
            ['nothing', null, null, 10n],
            ['nan_only', null, null, 0n],
            ['always', 'true', 'true', 0n],
            ['text', null, null, 0n], // 5000 bytes > statistics_max_bytes: bounds left out
        ]);
    });

    test('empty.parquet: a schema and no rows', async () => {
        const rows = await query(`SELECT * FROM read_parquet('${file('empty.parquet')}')`);
        assert.equal(rows.length, 0);
        assert.deepEqual(await describeColumns('empty.parquet'), [
            ['id', 'BIGINT'],
            ['name', 'VARCHAR'],
        ]);
        const [meta] = await query(
            `SELECT * FROM parquet_file_metadata('${file('empty.parquet')}')`,
        );
        assert.equal(meta.num_rows, 0n);
        assert.equal(meta.num_row_groups, 0n);
    });
});

describe('hyparquet', () => {
    // Keep timestamps as bigint microseconds instead of millisecond Dates.
    const parsers = { timestampFromMicroseconds: (micros) => micros };

    const read = (name) => {
        const bytes = fs.readFileSync(file(name));
        return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    };

    for (const name of ['types_zstd.parquet', 'types_plain.parquet']) {
        test(`${name}: every cell, in file order`, async () => {
            const rows = await parquetReadObjects({ file: read(name), compressors, parsers });
            assert.equal(rows.length, ROWS);
            rows.forEach((row, i) => assert.deepEqual({ ...row }, expectedRows[i], `row ${i}`));
        });

        test(`${name}: footer, schema and statistics`, () => {
            const metadata = parquetMetadata(read(name), { parsers });
            assert.equal(metadata.version, 1);
            assert.equal(metadata.created_by, 'switchboard');
            assert.equal(metadata.num_rows, BigInt(ROWS));
            const tree = parquetSchema(metadata);
            assert.deepEqual(
                tree.children.map(({ element }) => [
                    element.name,
                    element.type,
                    element.repetition_type,
                ]),
                [
                    ['flag', 'BOOLEAN', 'OPTIONAL'],
                    ['id', 'INT32', 'REQUIRED'],
                    ['big', 'INT64', 'OPTIONAL'],
                    ['ratio', 'DOUBLE', 'OPTIONAL'],
                    ['name', 'BYTE_ARRAY', 'OPTIONAL'],
                    ['ts', 'INT64', 'OPTIONAL'],
                    ['note', 'BYTE_ARRAY', 'REQUIRED'],
                ],
            );
            const ts = tree.children[5].element;
            assert.equal(ts.converted_type, 'TIMESTAMP_MICROS');
            assert.deepEqual(ts.logical_type, {
                type: 'TIMESTAMP',
                isAdjustedToUTC: true,
                unit: 'MICROS',
            });
            assert.equal(tree.children[4].element.converted_type, 'UTF8');
            assert.deepEqual(tree.children[4].element.logical_type, { type: 'STRING' });
            if (name.includes('zstd')) {
                assert.deepEqual(metadata.key_value_metadata, [
                    { key: 'switchboard.sample', value: 'types_zstd' },
                ]);
            }

            let begin = 0;
            for (const [g, group] of metadata.row_groups.entries()) {
                const rows = Number(group.num_rows);
                assert.equal(group.columns.length, 7);
                for (const [c, chunk] of group.columns.entries()) {
                    const meta = chunk.meta_data;
                    const column = COLUMNS[c];
                    const where = `${column} in row group ${g}`;
                    const want = expectedStats(column, begin, begin + rows);
                    assert.deepEqual(meta.path_in_schema, [column], where);
                    const codec = name.includes('zstd') ? 'ZSTD' : 'UNCOMPRESSED';
                    assert.equal(meta.codec, codec, where);
                    assert.equal(meta.num_values, BigInt(rows), where);
                    assert.equal(meta.encodings[0], 'PLAIN', where);
                    assert.equal(meta.statistics.null_count, BigInt(want.nullCount), where);
                    const { min_value: min, max_value: max } = meta.statistics;
                    assert.deepEqual([min, max], [want.min, want.max], where);
                }
                begin += rows;
            }
            assert.equal(begin, ROWS);
        });
    }

    test('edge.parquet and empty.parquet', async () => {
        const edge = await parquetReadObjects({ file: read('edge.parquet'), compressors });
        assert.equal(edge.length, 10);
        assert.equal(edge[3].text, 'x'.repeat(5000));
        for (const row of edge) {
            assert.equal(row.nothing, null);
            assert.ok(Number.isNaN(row.nan_only));
            assert.equal(row.always, true);
        }
        const [group] = parquetMetadata(read('edge.parquet')).row_groups;
        const stats = group.columns.map((c) => c.meta_data.statistics);
        assert.deepEqual(stats.map((s) => [s.min_value, s.max_value, s.null_count]), [
            [undefined, undefined, 10n],
            [undefined, undefined, 0n],
            [true, true, 0n],
            [undefined, undefined, 0n],
        ]);

        const emptyMetadata = parquetMetadata(read('empty.parquet'));
        assert.equal(emptyMetadata.num_rows, 0n);
        assert.deepEqual(emptyMetadata.row_groups, []);
        assert.deepEqual(await parquetReadObjects({ file: read('empty.parquet') }), []);
    });
});
