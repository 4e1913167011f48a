using InstaDeploy.ControlPlane.ApiKeys;
using Microsoft.AspNetCore.Components.Authorization;

namespace InstaDeploy.ControlPlane.WebConsole.Auth;

/// <summary>
/// The signed-in user of a page or a live component, and the check every action makes before it changes anything. A
/// request's cookie was checked against the key store when it arrived; a live component's circuit outlives that
/// request, so an action there reads the key again: a key revoked or expired meanwhile is refused.
/// </summary>
public sealed class ConsoleSession(AuthenticationStateProvider authentication, ApiKeyStore keys)
{
    public async Task<ConsoleUser> UserAsync() => new((await authentication.GetAuthenticationStateAsync()).User);

    /// <summary>The user, when their key is still active and holds <paramref name="scope"/>; else why not.</summary>
    public async Task<(ConsoleUser? User, string? Refusal)> AuthorizeAsync(string scope, CancellationToken cancellationToken)
    {
        var user = await UserAsync();
        if (user.KeyId is not { } keyId || await keys.FindActiveAsync(keyId, cancellationToken) is not { } key)
            return (null, "Your session's API key is revoked or expired: sign in again.");
        var current = new ConsoleUser(ConsoleAuthentication.PrincipalOf(key));
        return current.Can(scope) ? (current, null) : (null, $"Your API key ({string.Join(", ", current.Scopes)}) lacks the '{scope}' scope this needs.");
    }
}
