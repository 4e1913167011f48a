using InstaDeploy.Contracts;
using InstaDeploy.ControlPlane.Agents;

namespace InstaDeploy.ControlPlane.Tests.Agents;

/// <summary>Kubernetes-style selectors: what they match, and errors that name the position and what was expected.</summary>
public sealed class LabelSelectorTests
{
    private static readonly Dictionary<string, string> WebEu = new() { ["role"] = "web", ["region"] = "eu", ["gpu"] = "" };
    private static readonly Dictionary<string, string> DbUs = new() { ["role"] = "db", ["region"] = "us" };
    private static readonly Dictionary<string, string> Bare = new();

    [Theory]
    [InlineData("role=web", true, false, false)]
    [InlineData("role==web", true, false, false)]
    [InlineData("role!=web", false, true, true)] // as in Kubernetes, != also matches agents without the label
    [InlineData("region in (eu,us)", true, true, false)]
    [InlineData("region in (eu, us) , role = db", false, true, false)]
    [InlineData("region notin (eu)", false, true, true)]
    [InlineData("gpu", true, false, false)]
    [InlineData("!gpu", false, true, true)]
    [InlineData("role,!gpu", false, true, false)]
    [InlineData("example.com/tier=1", false, false, false)]
    public void ASelectorMatchesAsKubernetesDoes(string selector, bool webEu, bool dbUs, bool bare)
    {
        var (parsed, error) = LabelSelector.Parse(selector);
        Assert.Null(error);
        Assert.Equal((webEu, dbUs, bare), (parsed!.Matches(WebEu), parsed.Matches(DbUs), parsed.Matches(Bare)));
    }

    [Theory]
    [InlineData("", "is empty")]
    [InlineData("role=", "at position 6 (the end): expected a value for 'role'")]
    [InlineData("role=web,", "at position 10 (the end): expected a label key")]
    [InlineData("role web", "at position 6: expected '=', '==', '!=', 'in' or 'notin' after the key 'role', found 'w'")]
    [InlineData("region in eu", "at position 11: expected '(' after 'in', found 'e'")]
    [InlineData("region in (eu us)", "at position 15: expected ',' or ')' in the list of values, found 'u'")]
    [InlineData("region in (eu", "at position 14 (the end): expected ',' or ')' in the list of values")]
    [InlineData("role=web)", "at position 9: expected ',' between requirements, or the end of the selector, found ')'")]
    [InlineData("role!web", "at position 6: expected '=' after '!' (the operator is '!='), found 'w'")]
    [InlineData("-role=web", "at position 1: '-role' is not a valid label key")]
    [InlineData("role=web/x", "at position 6: 'web/x' is not a valid label value")]
    [InlineData("role=a\nb", "at position 7: expected ',' between requirements, or the end of the selector, found '?'")]
    public void AMalformedSelectorSaysWhereAndWhatWasExpected(string selector, string message)
    {
        var (parsed, error) = LabelSelector.Parse(selector);
        Assert.Null(parsed);
        Assert.StartsWith(message, error);
    }

    [Fact]
    public void ASelectorIsBounded()
    {
        Assert.Contains("over the limit", LabelSelector.Parse(new string('a', LabelSelector.MaxLength + 1)).Error);
        Assert.Contains("more than 64 requirements", LabelSelector.Parse(string.Join(',', Enumerable.Range(0, 65).Select(i => $"k{i}"))).Error);
    }

    [Theory]
    [InlineData("role=web,region=eu", null)]
    [InlineData(" role = web , gpu= ", null)]
    [InlineData("role", "item 1 ('role') is not key=value")]
    [InlineData("role=web,role=db", "item 2: key 'role' is given twice")]
    [InlineData("ro le=web", "item 1: 'ro le' is not a valid key")]
    [InlineData("role=we b", "item 1: 'we b' is not a valid value for 'role'")]
    public void AgentLabelsAreParsedAndCheckedByOneRule(string text, string? error)
    {
        var (labels, problem) = AgentLabels.Parse(text);
        if (error is null) Assert.True(labels is { Count: > 0 }, problem);
        else Assert.StartsWith(error, problem);
    }

    [Fact]
    public void AtMost64LabelsOf63Characters()
    {
        Assert.Contains("more than 64 labels", AgentLabels.Parse(string.Join(',', Enumerable.Range(0, 65).Select(i => $"k{i}=v"))).Error);
        Assert.Null(AgentLabels.Parse($"{new string('k', 63)}={new string('v', 63)}").Error);
        Assert.NotNull(AgentLabels.Parse($"{new string('k', 64)}=v").Error);
        Assert.NotNull(AgentLabels.Parse($"k={new string('v', 64)}").Error);
    }
}
