using DiffPlex.Chunkers;
using DiffPlex.DiffBuilder;
using DiffPlex.DiffBuilder.Model;

namespace InstaDeploy.Cli.Commands.Revisions;

/// <summary>A unified diff (the <c>diff -u</c> format) from DiffPlex's line diff: hunks with context lines.</summary>
public static class UnifiedDiff
{
    /// <summary>The diff's lines, none when the texts are the same.</summary>
    public static IReadOnlyList<string> Create(string oldText, string newText, string oldName, string newName, int context)
    {
        var diff = InlineDiffBuilder.Diff(oldText, newText, ignoreWhiteSpace: false, ignoreCase: false, new LineChunker());
        var lines = diff.Lines.Where(l => l.Type != ChangeType.Imaginary).ToList();
        if (lines.All(l => l.Type == ChangeType.Unchanged)) return [];

        // Old and new line numbers of each diff line, for the @@ headers.
        var oldNumbers = new int[lines.Count];
        var newNumbers = new int[lines.Count];
        int oldLine = 0, newLine = 0;
        for (var i = 0; i < lines.Count; i++)
        {
            if (lines[i].Type != ChangeType.Inserted) oldLine++;
            if (lines[i].Type != ChangeType.Deleted) newLine++;
            oldNumbers[i] = oldLine;
            newNumbers[i] = newLine;
        }

        var output = new List<string> { $"--- {oldName}", $"+++ {newName}" };
        var index = 0;
        while (index < lines.Count)
        {
            var change = lines.FindIndex(index, l => l.Type != ChangeType.Unchanged);
            if (change < 0) break;
            var start = Math.Max(index, change - context);
            var end = change;
            // Extend the hunk while the next change is within 2 x context unchanged lines.
            while (true)
            {
                while (end + 1 < lines.Count && lines[end + 1].Type != ChangeType.Unchanged) end++;
                var next = lines.FindIndex(end + 1, l => l.Type != ChangeType.Unchanged);
                if (next < 0 || next - end - 1 > 2 * context) break;
                end = next;
            }
            var stop = Math.Min(lines.Count - 1, end + context);
            var hunk = lines.GetRange(start, stop - start + 1);
            var oldCount = hunk.Count(l => l.Type != ChangeType.Inserted);
            var newCount = hunk.Count(l => l.Type != ChangeType.Deleted);
            var oldStart = oldCount == 0 ? oldNumbers[start] - (lines[start].Type == ChangeType.Inserted ? 0 : 1) : FirstNumber(lines, oldNumbers, start, stop, ChangeType.Inserted);
            var newStart = newCount == 0 ? newNumbers[start] - (lines[start].Type == ChangeType.Deleted ? 0 : 1) : FirstNumber(lines, newNumbers, start, stop, ChangeType.Deleted);
            output.Add($"@@ -{oldStart},{oldCount} +{newStart},{newCount} @@");
            output.AddRange(hunk.Select(l => (l.Type switch { ChangeType.Inserted => "+", ChangeType.Deleted => "-", _ => " " }) + l.Text));
            index = stop + 1;
        }
        return output;
    }

    /// <summary>The first line number in the hunk of the lines that exist on that side.</summary>
    private static int FirstNumber(List<DiffPiece> lines, int[] numbers, int start, int stop, ChangeType absent)
    {
        for (var i = start; i <= stop; i++)
            if (lines[i].Type != absent) return numbers[i];
        return numbers[start];
    }
}
