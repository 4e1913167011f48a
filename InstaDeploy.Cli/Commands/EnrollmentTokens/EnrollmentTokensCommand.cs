namespace InstaDeploy.Cli.Commands.EnrollmentTokens;

/// <summary><c>instadeploy enrollment-tokens ls|create|revoke</c> (admin).</summary>
public sealed class EnrollmentTokensCommand(EnrollmentTokensListCommand list, EnrollmentTokensCreateCommand create, EnrollmentTokensRevokeCommand revoke)
    : GroupCommand("enrollment-tokens", "Tokens an agent trades once for its own key (AGENT_ENROLLMENT_TOKEN; needs an admin key)", list, create, revoke);
