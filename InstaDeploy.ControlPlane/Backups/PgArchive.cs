using System.Text;

namespace InstaDeploy.ControlPlane.Backups;

/// <summary>
/// Reads the table data of a pg_dump archive (custom format) without a database: <c>pg_restore --data-only -f -</c>
/// writes it out as COPY blocks (one row a line, fields tab separated, in COPY's text escapes), read here as it streams.
/// Reading a whole archive decompresses every block, so it is also the archive's integrity check.
/// </summary>
internal static class PgArchive
{
    private static readonly byte[] Magic = "PGDMP"u8.ToArray();
    private static readonly byte[] SqliteMagic = "SQLite format 3\0"u8.ToArray();

    /// <summary>What a file starts with: a pg_dump archive, a SQLite database, or neither.</summary>
    public static string Kind(string file)
    {
        var head = new byte[SqliteMagic.Length];
        using (var stream = File.OpenRead(file)) stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (head.AsSpan().StartsWith(Magic)) return "pg_dump";
        return head.AsSpan().SequenceEqual(SqliteMagic) ? "SQLite" : "unknown";
    }

    /// <summary>
    /// Counts the rows of each table in the archive (or only of <paramref name="tables"/>), and hands the rows of the
    /// tables <paramref name="rowsOf"/> asks for to the handler it returns, decoded (null for SQL NULL).
    /// </summary>
    /// <exception cref="InvalidDataException">pg_restore cannot read the archive, or its output is not COPY data.</exception>
    public static async Task<SortedDictionary<string, long>> ReadAsync(string pgRestore, string file, IReadOnlyList<string>? tables,
        Func<string, IReadOnlyList<string>, Action<string?[]>?> rowsOf, CancellationToken cancellationToken)
    {
        List<string> arguments = ["--data-only", "--file=-"];
        foreach (var table in tables ?? []) arguments.Add($"--table={table}");
        arguments.Add(Path.GetFullPath(file));
        var rows = new SortedDictionary<string, long>(StringComparer.Ordinal);
        try
        {
            await PgTools.RunAsync(pgRestore, arguments, null, async (output, ct) =>
            {
                while (await output.ReadLineAsync(ct) is { } line)
                {
                    if (!line.StartsWith("COPY ", StringComparison.Ordinal)) continue;
                    var (table, columns) = ParseCopy(line);
                    var handler = rowsOf(table, columns);
                    long count = 0;
                    while (true)
                    {
                        var row = await output.ReadLineAsync(ct) ?? throw new InvalidDataException($"the data of {table} ends without its end marker");
                        if (row == "\\.") break;
                        count++;
                        handler?.Invoke([.. row.Split('\t').Select(Decode)]);
                    }
                    rows[table] = rows.GetValueOrDefault(table) + count;
                }
            }, cancellationToken);
        }
        catch (PostgresToolException e)
        {
            throw new InvalidDataException($"{file} is not a readable pg_dump archive: {e.Message}", e);
        }
        return rows;
    }

    /// <summary><c>COPY public."Jobs" ("Id", "Status") FROM stdin;</c> → (Jobs, [Id, Status]).</summary>
    internal static (string Table, IReadOnlyList<string> Columns) ParseCopy(string line)
    {
        const string end = " FROM stdin;";
        if (!line.EndsWith(end, StringComparison.Ordinal)) throw new InvalidDataException($"unexpected COPY line in pg_restore's output: {line[..Math.Min(line.Length, 200)]}");
        var body = line["COPY ".Length..^end.Length];
        var open = body.IndexOf(" (", StringComparison.Ordinal);
        var names = Identifiers(open < 0 ? body : body[..open], '.');
        var columns = open < 0 ? [] : Identifiers(body[(open + 2)..^1], ',');
        return (names[^1], columns);
    }

    /// <summary>Identifiers separated by <paramref name="separator"/>, each plain or double-quoted ("" inside quotes is ").</summary>
    private static List<string> Identifiers(string text, char separator)
    {
        var names = new List<string>();
        var current = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '"')
            {
                for (i++; i < text.Length; i++)
                {
                    if (text[i] != '"') current.Append(text[i]);
                    else if (i + 1 < text.Length && text[i + 1] == '"') current.Append(text[++i]);
                    else break;
                }
            }
            else if (c == separator)
            {
                names.Add(current.ToString());
                current.Clear();
            }
            else if (c != ' ')
            {
                current.Append(c);
            }
        }
        names.Add(current.ToString());
        return names;
    }

    /// <summary>A field in COPY's text format: <c>\N</c> is NULL; backslash escapes as PostgreSQL writes them.</summary>
    internal static string? Decode(string field)
    {
        if (field == "\\N") return null;
        if (!field.Contains('\\')) return field;
        var text = new StringBuilder(field.Length);
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] != '\\' || i + 1 == field.Length)
            {
                text.Append(field[i]);
                continue;
            }
            var c = field[++i];
            text.Append(c switch
            {
                'b' => '\b',
                'f' => '\f',
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                'v' => '\v',
                _ => c, // \\ and any other character stand for themselves (pg_dump writes no octal or hex escapes)
            });
        }
        return text.ToString();
    }
}
