using System.Text;
using Npgsql;

namespace InstaDeploy.ControlPlane.Backups;

/// <summary>
/// The control plane's database (INSTADEPLOY_POSTGRES, an Npgsql connection string) as PostgreSQL's client programs
/// take it: a libpq connection string without the password, given as their <c>--dbname</c>, and the password apart
/// (see <see cref="PgTools.StartInfo"/>).
/// </summary>
internal sealed record PgConnection(string ConnectionInfo, string? Password, string? Passfile, string Name, string Database)
{
    public static PgConnection Parse(string connectionString)
    {
        var settings = new NpgsqlConnectionStringBuilder(connectionString);
        var (hosts, ports) = HostsAndPorts(settings.Host ?? "localhost", settings.Port);
        var database = settings.Database ?? settings.Username ?? Environment.UserName;
        var info = new StringBuilder();
        Add(info, "host", hosts);
        Add(info, "port", ports);
        Add(info, "dbname", database);
        Add(info, "user", settings.Username);
        Add(info, "sslmode", settings.SslMode switch
        {
            SslMode.Disable => "disable",
            SslMode.Allow => "allow",
            SslMode.Require => "require",
            SslMode.VerifyCA => "verify-ca",
            SslMode.VerifyFull => "verify-full",
            _ => "prefer",
        });
        Add(info, "sslrootcert", settings.RootCertificate);
        Add(info, "sslcert", settings.SslCertificate);
        Add(info, "sslkey", settings.SslKey);
        Add(info, "connect_timeout", settings.Timeout.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Add(info, "application_name", "instadeploy-backup");
        return new PgConnection(info.ToString(), settings.Password, settings.Passfile, $"postgresql://{settings.Host}:{settings.Port}/{settings.Database}", database);
    }

    /// <summary>Npgsql takes <c>host1:port1,host2</c> in Host; libpq takes the hosts and the ports as two lists.</summary>
    private static (string Hosts, string Ports) HostsAndPorts(string host, int defaultPort)
    {
        var hosts = new List<string>();
        var ports = new List<string>();
        foreach (var entry in host.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = entry.LastIndexOf(':');
            // host:port, or [v6]:port; a bare IPv6 address has several colons and no port.
            var hasPort = colon > 0 && int.TryParse(entry[(colon + 1)..], out _) && (entry.IndexOf(':') == colon || entry[colon - 1] == ']');
            hosts.Add((hasPort ? entry[..colon] : entry).Trim('[', ']'));
            ports.Add(hasPort ? entry[(colon + 1)..] : defaultPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        return (string.Join(',', hosts), string.Join(',', ports));
    }

    private static void Add(StringBuilder info, string key, string? value)
    {
        if (string.IsNullOrEmpty(value)) return;
        if (info.Length > 0) info.Append(' ');
        info.Append(key).Append("='").Append(value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal)).Append('\'');
    }
}
