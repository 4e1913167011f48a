using System.Net;
using System.Text.Json;

namespace InstaDeploy.Cli.Api;

/// <summary>
/// An error answer from the control plane, read from its RFC 7807 problem details and shown as one line: the title,
/// the status, and the detail that says what to fix (or the field errors of a validation problem).
/// </summary>
public sealed class ApiException : CliException
{
    private ApiException(int status, string message) : base(ExitCodes.ForStatus(status), message) => Status = status;

    public int Status { get; }

    public static ApiException From(HttpStatusCode status, string method, string path, string body)
    {
        var code = (int)status;
        string? title = null, detail = null;
        var fieldErrors = new List<string>();
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                title = root.TryGetProperty("title", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
                detail = root.TryGetProperty("detail", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
                if (root.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Object)
                    foreach (var field in errors.EnumerateObject())
                        if (field.Value.ValueKind == JsonValueKind.Array)
                            fieldErrors.AddRange(field.Value.EnumerateArray().Select(e => $"{field.Name}: {e}"));
            }
        }
        catch (JsonException)
        {
            // Not problem details (a proxy's page, an old server): the status and a hint say what they can.
        }

        title ??= ReasonPhrase(status);
        if (string.IsNullOrWhiteSpace(detail)) detail = fieldErrors.Count > 0 ? string.Join("; ", fieldErrors) : Hint(code, method, path);
        var hint = code switch
        {
            401 => " Log in again with `instadeploy login`, or set INSTADEPLOY_API_KEY.",
            403 => " Use a key with that scope (an admin creates one with `instadeploy keys create`).",
            _ => "",
        };
        return new ApiException(code, OneLine($"{title} ({code}): {detail}{hint}"));
    }

    private static string Hint(int status, string method, string path) => status switch
    {
        404 => $"{method} {path} is not there; the control plane may be older than this CLI.",
        429 => "too many requests; retry in a moment.",
        >= 500 => $"the control plane failed on {method} {path}; its log says why.",
        _ => $"{method} {path} was refused.",
    };

    private static string ReasonPhrase(HttpStatusCode status) =>
        new HttpResponseMessage(status).ReasonPhrase ?? status.ToString();

    /// <summary>Collapses line breaks and control characters: an answer cannot paint over the terminal.</summary>
    public static string OneLine(string text) =>
        new([.. text.ReplaceLineEndings(" ").Select(c => char.IsControl(c) ? ' ' : c)]);
}
