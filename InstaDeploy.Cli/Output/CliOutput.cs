using System.Text.Encodings.Web;
using System.Text.Json;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace InstaDeploy.Cli.Output;

/// <summary>How a command prints its data.</summary>
public enum OutputFormat
{
    /// <summary>Tables and key/value views for people.</summary>
    Table,

    /// <summary>The API's own JSON, for scripts.</summary>
    Json,
}

/// <summary>
/// The one way every command prints: data to standard output (a table, the API's JSON, or ids only with --quiet),
/// notes, warnings and errors to standard error, so standard output stays parseable. Colour and progress animation only
/// when the stream is a terminal and neither NO_COLOR nor --no-color is set.
/// </summary>
public sealed class CliOutput
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly CliEnvironment _environment;

    public CliOutput(CliEnvironment environment, OutputFormat format, bool quiet, bool noColor)
    {
        _environment = environment;
        Format = format;
        Quiet = quiet;
        var colourAllowed = !noColor && !environment.NoColorRequested;
        Colour = colourAllowed && environment.OutputIsTerminal;
        Animate = colourAllowed && environment.ErrorIsTerminal;
        Out = CreateConsole(environment.Output, Colour, environment.OutputIsTerminal ? environment.TerminalWidth : null);
        Err = CreateConsole(environment.Error, colourAllowed && environment.ErrorIsTerminal, environment.ErrorIsTerminal ? environment.TerminalWidth : null);
    }

    public OutputFormat Format { get; }

    public bool Quiet { get; }

    /// <summary>JSON on standard output (not when --quiet asks for ids only).</summary>
    public bool IsJson => Format == OutputFormat.Json && !Quiet;

    public bool Colour { get; }

    /// <summary>Spinners and live views on standard error.</summary>
    public bool Animate { get; }

    public IAnsiConsole Out { get; }

    public IAnsiConsole Err { get; }

    public TextWriter Stdout => _environment.Output;

    private static IAnsiConsole CreateConsole(TextWriter writer, bool colour, int? width)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            // Always the ANSI writer, never Spectre's legacy one: that one sets System.Console's colours, which .NET
            // turns into escape codes on the terminal even when we want none. Without colour, only plain styles are used.
            Ansi = AnsiSupport.Yes,
            ColorSystem = colour ? ColorSystemSupport.Standard : ColorSystemSupport.NoColors,
            Interactive = colour ? InteractionSupport.Yes : InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
            Enrichment = new ProfileEnrichment { UseDefaultEnrichers = false },
        });
        // Piped output is not wrapped at 80 columns: scripts read whole rows.
        console.Profile.Width = width ?? 400;
        return console;
    }

    private static readonly Style Bold = new(decoration: Decoration.Bold);

    /// <summary>The style on standard output: none at all without colour (no bold either).</summary>
    public Style Styled(Style style) => Colour ? style : Style.Plain;

    /// <summary>Prints one API answer: its JSON, its ids, or the human view.</summary>
    public void Write(JsonElement json, Action human, Func<IEnumerable<string?>> ids)
    {
        if (Quiet) WriteIds(ids());
        else if (Format == OutputFormat.Json) WriteJson(json);
        else human();
    }

    public void WriteJson(JsonElement json)
    {
        if (json.ValueKind == JsonValueKind.Undefined) return;
        Stdout.WriteLine(JsonSerializer.Serialize(json, Indented));
        Stdout.Flush();
    }

    public void WriteJson<T>(T value) => WriteJson(JsonSerializer.SerializeToElement(value, Api.InstaDeployApiClient.Json));

    public void WriteIds(IEnumerable<string?> ids)
    {
        foreach (var id in ids)
            if (!string.IsNullOrEmpty(id)) Stdout.WriteLine(id);
        Stdout.Flush();
    }

    /// <summary>A table; cells come from the server and agents, so control characters are blanked (no terminal tricks).</summary>
    public void WriteTable(TableView view)
    {
        if (view.Rows.Count == 0)
        {
            Note(view.EmptyMessage);
            return;
        }
        var table = new Table().Border(TableBorder.None).HideRowSeparators();
        table.ShowHeaders = true;
        foreach (var column in view.Columns) table.AddColumn(new TableColumn(new Text(column, Styled(Bold))).PadLeft(0).PadRight(3));
        foreach (var row in view.Rows)
            table.AddRow(row.Select((cell, i) => (IRenderable)new Text(Api.ApiException.OneLine(cell ?? ""), Styled(Styles.ForCell(view.Columns[i], cell)))));
        Out.Write(table);
    }

    /// <summary>A record shown as aligned "label  value" lines.</summary>
    public void WriteDetails(IEnumerable<(string Label, string? Value)> rows)
    {
        var grid = new Grid().AddColumn(new GridColumn().PadRight(3)).AddColumn();
        foreach (var (label, value) in rows)
            grid.AddRow(new Text(label, Styled(Bold)), new Text(Api.ApiException.OneLine(value ?? ""), Styled(Styles.ForCell(label, value))));
        Out.Write(grid);
    }

    /// <summary>Output text as it comes (job and container logs), untouched.</summary>
    public async Task WriteTextAsync(string text)
    {
        await Stdout.WriteAsync(text);
        await Stdout.FlushAsync();
    }

    /// <summary>A note for people, on standard error; --quiet silences it.</summary>
    public void Note(string message)
    {
        if (Quiet) return;
        _environment.Error.WriteLine(Api.ApiException.OneLine(message));
    }

    public void Warning(string message) => _environment.Error.WriteLine("warning: " + Api.ApiException.OneLine(message));

    public void Error(string message)
    {
        if (Animate) Err.MarkupLine($"[red]error:[/] {Markup.Escape(Api.ApiException.OneLine(message))}");
        else _environment.Error.WriteLine("error: " + Api.ApiException.OneLine(message));
    }

    /// <summary>Runs <paramref name="work"/> under a spinner on a terminal; plainly otherwise.</summary>
    public async Task<T> WithProgressAsync<T>(string status, Func<Task<T>> work)
    {
        if (!Animate || Quiet) return await work();
        return await Err.Status().Spinner(Spinner.Known.Dots).StartAsync(Markup.Escape(status), _ => work());
    }
}
