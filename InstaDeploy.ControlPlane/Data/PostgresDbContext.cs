using Microsoft.EntityFrameworkCore;

namespace InstaDeploy.ControlPlane.Data;

/// <summary>
/// The same model on PostgreSQL (INSTADEPLOY_POSTGRES), with its own migrations in <c>Data/PostgresMigrations</c>:
/// several control-plane instances share one such database. Times are stored as the same 64-bit values as on SQLite,
/// so ordering, comparisons and the plain-SQL hot paths read the same on both.
/// </summary>
public sealed class PostgresDbContext(DbContextOptions<PostgresDbContext> options) : InstaDeployDbContext(options);

/// <summary>Hands the PostgreSQL context out where the code asks for the store's base type.</summary>
internal sealed class PostgresContextFactory(IDbContextFactory<PostgresDbContext> inner) : IDbContextFactory<InstaDeployDbContext>
{
    public InstaDeployDbContext CreateDbContext() => inner.CreateDbContext();

    public async Task<InstaDeployDbContext> CreateDbContextAsync(CancellationToken cancellationToken = default) =>
        await inner.CreateDbContextAsync(cancellationToken);
}

/// <summary>Design time (dotnet ef): the PostgreSQL model, without a server.</summary>
internal sealed class PostgresDesignTimeFactory : Microsoft.EntityFrameworkCore.Design.IDesignTimeDbContextFactory<PostgresDbContext>
{
    public PostgresDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresDbContext>().UseNpgsql("Host=localhost;Database=instadeploy_design").Options);
}

/// <summary>For <c>dotnet ef</c> on the SQLite context: without it the tools take the PostgreSQL factory above (its
/// context derives from this one) and write PostgreSQL migrations into the SQLite folder.</summary>
internal sealed class SqliteDesignTimeFactory : Microsoft.EntityFrameworkCore.Design.IDesignTimeDbContextFactory<InstaDeployDbContext>
{
    public InstaDeployDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<InstaDeployDbContext>().UseSqlite("Data Source=instadeploy-design.db").Options);
}
