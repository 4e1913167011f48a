using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using InstaDeploy.ControlPlane.Jobs.Submission;

namespace InstaDeploy.ControlPlane.Infrastructure;

/// <summary>
/// Keyset paging: a list answers one page, and when there may be more, the position after its last item as an opaque
/// cursor in <c>X-Next-Cursor</c> and a <c>Link: &lt;…&gt;; rel="next"</c> header (RFC 8288). The next page starts from
/// that position through the list's index, so page 1,000 costs what page 1 does, and items added meanwhile neither
/// shift nor repeat what follows.
/// </summary>
/// <remarks>
/// A cursor names the list it came from and carries a checksum, so a cursor of another list, or one cut or edited by
/// hand, is a 400 rather than a page that silently starts somewhere else. The checksum is not a secret and need not
/// be: every page applies the caller's own filters and scope again, so a forged position can only move where a page
/// starts, never show what the caller could not list anyway.
/// </remarks>
public static class PageCursor
{
    public const string Header = "X-Next-Cursor";

    private static readonly byte[] ChecksumKey = "InstaDeploy page cursor v1"u8.ToArray();

    /// <summary>The position after an item of <paramref name="list"/>: the values of its sort keys, in order.</summary>
    public static string Encode(string list, params string[] keys)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes((string[])[list, .. keys]);
        return Base64Url.EncodeToString(body) + "." + Base64Url.EncodeToString(Checksum(body));
    }

    /// <summary>A time as a cursor key (UTC ticks: the order the store sorts times in).</summary>
    public static string Key(DateTimeOffset at) => at.UtcTicks.ToString(CultureInfo.InvariantCulture);

    public static string Key(long value) => value.ToString(CultureInfo.InvariantCulture);

    public static DateTimeOffset Time(string key) => new(long.Parse(key, CultureInfo.InvariantCulture), TimeSpan.Zero);

    public static long Number(string key) => long.Parse(key, CultureInfo.InvariantCulture);

    /// <summary>The sort keys a cursor of <paramref name="list"/> holds, or null if it is not one this list gave.</summary>
    public static string[]? Decode(string cursor, string list, int keyCount)
    {
        if (cursor.Length is 0 or > 1024) return null;
        var dot = cursor.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0) return null;
        try
        {
            var body = Base64Url.DecodeFromChars(cursor.AsSpan(0, dot));
            var checksum = Base64Url.DecodeFromChars(cursor.AsSpan(dot + 1));
            if (!CryptographicOperations.FixedTimeEquals(checksum, Checksum(body))) return null;
            var parts = JsonSerializer.Deserialize<string[]>(body);
            return parts is not null && parts.Length == keyCount + 1 && parts[0] == list && parts.All(p => p is not null) ? parts[1..] : null;
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            return null;
        }
    }

    private static byte[] Checksum(ReadOnlySpan<byte> body) => HMACSHA256.HashData(ChecksumKey, body)[..12];

    /// <summary>
    /// Reads a list's <c>limit</c> and <c>cursor</c>: the page size and the position to start after (null for the first
    /// page); or why either is wrong, naming the field.
    /// </summary>
    public static (int Limit, string[]? After, CommandRefusal? Refusal) Read(string list, int keyCount, int? limit, string? cursor, int defaultLimit, int maxLimit)
    {
        if (limit is < 1 || limit > maxLimit) return (0, null, CommandRefusal.Invalid("limit", $"must be between 1 and {maxLimit}"));
        if (cursor is null) return (limit ?? defaultLimit, null, null);
        return Decode(cursor, list, keyCount) is { } after
            ? (limit ?? defaultLimit, after, null)
            : (0, null, CommandRefusal.Invalid("cursor", "is not a cursor this list gave; pass the X-Next-Cursor value of the previous page of the same list as it was, or leave it out for the first page"));
    }

    /// <summary>Sets the next-page headers when <paramref name="items"/> fills the page (there may be more).</summary>
    public static void SetNextIfFull<T>(HttpContext context, IReadOnlyList<T> items, int limit, Func<T, string> cursorOf)
    {
        if (items.Count > 0 && items.Count >= limit) SetNext(context, cursorOf(items[^1]));
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
