using System.Security.Cryptography;
using System.Text;
using InstaDeploy.Agent.Connection;
using InstaDeploy.Contracts;
using InstaDeploy.Contracts.Bundles;

namespace InstaDeploy.Agent.Updates;

/// <summary>
/// Fetches a bundle from the control plane (over HTTP(S) at SERVER_URL's address, with the agent's own credentials)
/// into an owner-only file, and accepts it only when its size and SHA-256 are the ones the command named and its
/// signature verifies with one of AGENT_UPDATE_PUBLIC_KEY's keys. The control plane cannot sign: whatever it sends, the
/// operator's key decides.
/// </summary>
internal sealed class BundleDownloader(AgentOptions options, AgentCredentialProvider credentials, IHttpClientFactory httpClients)
{
    /// <summary>Largest bundle downloaded.</summary>
    public const long MaxBundleBytes = 2L * 1024 * 1024 * 1024;

    /// <summary>Downloads and checks; returns the file's path, or throws <see cref="BundleException"/> saying what is wrong
    /// (the file is deleted then).</summary>
    public async Task<string> DownloadAsync(string downloadPath, long size, string sha256, string signature, string into, CancellationToken cancellationToken)
    {
        if (options.UpdatePublicKeys is not { Count: > 0 } keys)
            throw new BundleException("AGENT_UPDATE_PUBLIC_KEY is not set on this agent: it takes no bundle it cannot check (set it to the operator's public key)");
        if (!downloadPath.StartsWith('/') || downloadPath.StartsWith("//", StringComparison.Ordinal) || downloadPath.Any(char.IsControl))
            throw new BundleException($"the download path '{AgentLabels.Shown(downloadPath)}' is not a path on the control plane");
        if (size is <= 0 or > MaxBundleBytes) throw new BundleException($"the bundle's size {size} is not between 1 byte and {MaxBundleBytes} bytes");
        var signatureBytes = Encoding.ASCII.GetBytes(signature);
        if (BundleSignature.Decode(signatureBytes) is null) throw new BundleException("the command carries no readable signature");

        var server = new UriBuilder(options.ServerUrl) { Scheme = options.ServerUrl.Scheme == "wss" ? "https" : "http", Path = "", Query = "" }.Uri;
        Directory.CreateDirectory(Path.GetDirectoryName(into)!);
        File.Delete(into);
        try
        {
            using var client = httpClients.CreateClient("enrollment"); // the same TLS trust (AGENT_CA_CERT) as the connection
            client.Timeout = TimeSpan.FromMinutes(30);
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(server, downloadPath));
            request.Headers.Authorization = new("Bearer", await credentials.GetTokenAsync(cancellationToken));
            request.Headers.Add(HandshakeHeaders.AgentHostname, options.Hostname);
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (!response.IsSuccessStatusCode) throw new BundleException($"the control plane answered HTTP {(int)response.StatusCode} to the download");
            byte[] hash;
            var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Options = FileOptions.Asynchronous };
            if (!OperatingSystem.IsWindows()) fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            await using (var file = new FileStream(into, fileOptions))
            await using (var body = await response.Content.ReadAsStreamAsync(cancellationToken))
            {
                using var hasher = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var buffer = new byte[81920];
                long read = 0;
                int count;
                while ((count = await body.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    read += count;
                    if (read > size) throw new BundleException($"the download is larger than the {size} bytes the command named");
                    hasher.AppendData(buffer.AsSpan(0, count));
                    await file.WriteAsync(buffer.AsMemory(0, count), cancellationToken);
                }
                if (read != size) throw new BundleException($"the download has {read} bytes, not the {size} the command named");
                hash = hasher.GetHashAndReset();
            }
            if (!string.Equals(Convert.ToHexStringLower(hash), sha256, StringComparison.OrdinalIgnoreCase))
                throw new BundleException($"the download's SHA-256 is {Convert.ToHexStringLower(hash)}, not the {AgentLabels.Shown(sha256)} the command named");
            if (!BundleSignature.Verify(keys, hash, signatureBytes))
                throw new BundleException("the signature does not verify with AGENT_UPDATE_PUBLIC_KEY: the bundle was not signed by the operator's key this agent trusts");
            return into;
        }
        catch (Exception e) when (e is HttpRequestException or IOException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            File.Delete(into);
            throw new BundleException($"the download failed: {e.Message}");
        }
        catch
        {
            File.Delete(into);
            throw;
        }
    }
}
