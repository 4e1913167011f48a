using InstaDeploy.ControlPlane.Agents;
using Microsoft.Extensions.Options;

namespace InstaDeploy.ControlPlane.Tests.Agents;

public sealed class AgentTokenValidatorTests
{
    private readonly AgentTokenValidator _validator = new(Options.Create(new ControlPlaneOptions { AgentSecretToken = "s3cret-token-value" }));

    [Theory]
    [InlineData("Bearer s3cret-token-value")]
    [InlineData("bearer s3cret-token-value")]
    [InlineData("Bearer  s3cret-token-value ")]
    public void TheConfiguredTokenIsAccepted(string header) => Assert.True(_validator.IsValid(header));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Bearer")]
    [InlineData("Bearer ")]
    [InlineData("Bearer s3cret-token-valu")]
    [InlineData("Bearer s3cret-token-value2")]
    [InlineData("Basic s3cret-token-value")]
    [InlineData("s3cret-token-value")]
    public void AnythingElseIsRefused(string? header) => Assert.False(_validator.IsValid(header));
}
