using System.Security.Cryptography;
using InstaDeploy.ControlPlane.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.ApiKeys;

/// <summary>
/// Makes sure an admin can get in, with no default or fallback secret: INSTADEPLOY_ADMIN_API_KEY, when set, is an admin
/// key (stored hashed, as "bootstrap-admin"); when it is unset and no admin key exists, one is generated, stored hashed
/// and printed once on the console (not to the logs, which may be shipped elsewhere).
/// </summary>
internal static class ApiKeyBootstrap
{
    public const string BootstrapName = "bootstrap-admin";

    public static async Task EnsureAdminKeyAsync(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<ControlPlaneOptions>>().Value;
        var store = app.Services.GetRequiredService<ApiKeyStore>();
        await using var db = await app.Services.GetRequiredService<IDbContextFactory<InstaDeployDbContext>>().CreateDbContextAsync();

        if (!string.IsNullOrWhiteSpace(options.AdminApiKey))
        {
            var hash = ApiKeyStore.HashOf(options.AdminApiKey);
            var existing = await db.ApiKeys.Where(k => k.Name == BootstrapName && k.RevokedAt == null).ToListAsync();
            if (existing.Any(k => CryptographicOperations.FixedTimeEquals(k.Hash, hash))) return;
            // The configured key changed: the old bootstrap key stops working.
            foreach (var old in existing) await store.RevokeAsync(old.Id, Audit.AuditActor.System, CancellationToken.None);
            await store.AddAsync(BootstrapName, [ApiKeyScopes.Admin], hash, null, Audit.AuditActor.System, CancellationToken.None);
            return;
        }

        var keys = await db.ApiKeys.AsNoTracking().ToListAsync();
        if (keys.Any(k => store.IsActive(k) && k.Scopes.Split(',').Contains(ApiKeyScopes.Admin))) return;
        var (_, plaintext) = await store.CreateAsync(BootstrapName, [ApiKeyScopes.Admin], null, Audit.AuditActor.System, CancellationToken.None);
        Console.WriteLine();
        Console.WriteLine("InstaDeploy: no admin API key existed, so one was generated. It is shown only now; store it safely:");
        Console.WriteLine($"  {plaintext}");
        Console.WriteLine("Use it as 'Authorization: Bearer <key>'. Set INSTADEPLOY_ADMIN_API_KEY to choose your own instead.");
        Console.WriteLine();
    }
}
