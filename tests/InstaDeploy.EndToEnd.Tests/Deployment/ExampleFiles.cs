using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace InstaDeploy.EndToEnd.Tests.Deployment;

/// <summary>The files under examples/ as the guide ships them, and the programs (nginx, Caddy) that read them.</summary>
internal static class ExampleFiles
{
    public static string Read(string relativePath) => File.ReadAllText(Path.Combine(DockerCli.RepositoryRoot(), "examples", relativePath));

    /// <summary>The example with the operator's own values put in, each replaced text required to be there: a test
    /// that silently stopped using part of the example would prove nothing about it.</summary>
    public static string Fill(string relativePath, params (string From, string To)[] replacements)
    {
        var text = Read(relativePath);
        foreach (var (from, to) in replacements)
        {
            Assert.True(text.Contains(from, StringComparison.Ordinal), $"examples/{relativePath} no longer contains '{from}'; update this test together with the example.");
            text = text.Replace(from, to, StringComparison.Ordinal);
        }
        return text;
    }

    /// <summary>A program unpacked by eng/setup-proxies.sh (eng/test.sh runs it).</summary>
    public static string Tool(string package, string relativePath)
    {
        var path = Path.Combine(DockerCli.RepositoryRoot(), "artifacts", "tools", package, relativePath);
        if (!File.Exists(path)) throw new InvalidOperationException($"{path} is missing: run bash eng/setup-proxies.sh (bash eng/test.sh does).");
        return path;
    }

    public static ServiceProcess Start(string name, string program, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;
        return new ServiceProcess(name, Process.Start(start)!);
    }

    /// <summary>Waits until something accepts connections on the loopback port.</summary>
    public static Task WaitForPortAsync(ServiceProcess process, int port) =>
        Eventually.TrueAsync(async () =>
        {
            if (process.HasExited) throw new InvalidOperationException($"{process.Name} exited: {process.Output}");
            using var client = new TcpClient();
            try { await client.ConnectAsync(IPAddress.Loopback, port); return true; }
            catch (SocketException) { return false; }
        }, TimeSpan.FromSeconds(20), $"{process.Name} to listen on {port}");
}
