using System.Globalization;
using System.Text;

/// <summary>
/// examples/haproxy/haproxy.cfg (the configuration docs/SCALING.md shows and the cluster tests run) for N local
/// instances: its three checked servers and three backups become one of each per instance.
/// </summary>
internal static class HaproxyConfig
{
    public static string For(string example, IReadOnlyList<(string Name, int Port)> instances)
    {
        var text = new StringBuilder();
        bool checkedDone = false, backupDone = false;
        foreach (var line in example.Split('\n'))
        {
            var trimmed = line.TrimStart();
            if (!trimmed.StartsWith("server ", StringComparison.Ordinal))
            {
                text.Append(line).Append('\n');
                continue;
            }
            var backup = trimmed.EndsWith(" backup", StringComparison.Ordinal);
            if (backup ? backupDone : checkedDone) continue;
            foreach (var (name, port) in instances)
                text.Append(CultureInfo.InvariantCulture, $"    server {name}{(backup ? "-unchecked" : "")} 127.0.0.1:{port}{(backup ? " backup" : " check")}\n");
            if (backup) backupDone = true;
            else checkedDone = true;
        }
        return text.ToString().TrimEnd('\n') + "\n";
    }
}
