using System.Text;

namespace InstaDeploy.Testing;

/// <summary>Checks that a secret does not stand in clear text in files a user could copy (the database, its WAL).</summary>
public static class SecretScan
{
    /// <summary>Throws, naming the file, if any file in <paramref name="folder"/> matching <paramref name="pattern"/>
    /// holds <paramref name="secret"/> as UTF-8; also throws if no file matches (a scan of nothing proves nothing).</summary>
    public static async Task AssertNotInFilesAsync(string folder, string pattern, string secret)
    {
        var needle = Encoding.UTF8.GetBytes(secret);
        var files = Directory.GetFiles(folder, pattern);
        if (files.Length == 0) throw new InvalidOperationException($"no file matches {pattern} in {folder}: nothing to scan");
        foreach (var file in files)
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            if (copy.ToArray().AsSpan().IndexOf(needle) >= 0)
                throw new InvalidOperationException($"{Path.GetFileName(file)} holds the secret in clear text");
        }
    }
}
