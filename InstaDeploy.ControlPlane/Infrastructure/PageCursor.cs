using System.Buffers.Text;
using System.Text;

namespace InstaDeploy.ControlPlane.Infrastructure;

/// <summary>
/// Keyset paging: a list answers one page, and when there may be more, the position after its last item as an opaque
/// cursor in <c>X-Next-Cursor</c> and a <c>Link: &lt;…&gt;; rel="next"</c> header (RFC 8288). The next page starts from
/// that position through the list's index, so page 1,000 costs what page 1 does, and items added meanwhile neither
/// shift nor repeat what follows.
/// </summary>
public static class PageCursor
{
    public const string Header = "X-Next-Cursor";

    /// <summary>A position of (time, id), the order of every time-ordered list here.</summary>
    public static string Encode(DateTimeOffset at, string id) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes($"{at.UtcTicks}:{id}"));

    public static bool TryDecode(string cursor, out DateTimeOffset at, out string id)
    {
        at = default;
        id = "";
        if (cursor.Length is 0 or > 512) return false;
        try
        {
            var text = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor));
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || !long.TryParse(text.AsSpan(0, colon), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ticks)
                || ticks > DateTimeOffset.MaxValue.UtcTicks) return false;
            at = new DateTimeOffset(ticks, TimeSpan.Zero);
            id = text[(colon + 1)..];
            return id.Length > 0;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>Sets the next-page headers: the same request with <c>cursor</c> replaced.</summary>
    public static void SetNext(HttpContext context, string cursor)
    {
        var request = context.Request;
        var query = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(request.QueryString.Value)
            .Where(p => p.Key != "cursor")
            .SelectMany(p => p.Value.Select(v => new KeyValuePair<string, string?>(p.Key, v)))
            .Append(new KeyValuePair<string, string?>("cursor", cursor));
        var next = Microsoft.AspNetCore.WebUtilities.QueryHelpers.AddQueryString(request.PathBase + request.Path, query);
        context.Response.Headers[Header] = cursor;
        context.Response.Headers.Link = $"<{next}>; rel=\"next\"";
    }
}
