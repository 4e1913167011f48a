using System.Diagnostics;
using System.Globalization;
using System.Text;
using InstaDeploy.Compose;

namespace InstaDeploy.ControlPlane.Tests.Deployments;

public sealed class ComposeValidatorTests
{
    [Fact]
    public void TheExampleComposeFileIsAccepted()
    {
        var example = File.ReadAllText(Path.Combine(DockerCli.RepositoryRoot(), "examples", "docker-compose-test.yml"));
        Assert.Null(ComposeValidator.Validate(example));
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("hello", "top level must be a mapping")]
    [InlineData("- a\n- b\n", "top level must be a mapping")]
    [InlineData("version: '3'\n", "no 'services' key")]
    [InlineData("services:\n  - web\n", "'services' must be a mapping")]
    [InlineData("services: web\n", "'services' must be a mapping")]
    [InlineData("services: {}\n", "'services' is empty")]
    [InlineData("services:\n  web: [\n", "not valid YAML")]
    [InlineData("services:\n\tweb: {}\n", "not valid YAML")]
    public void AComposeFileWithoutAServicesMappingIsRefusedWithAReason(string yaml, string expected)
    {
        var error = ComposeValidator.Validate(yaml);
        Assert.NotNull(error);
        Assert.Contains(expected, error);
    }

    [Fact]
    public void OrdinaryAliasesAreAccepted()
    {
        var yaml = "x-env: &env\n  A: \"1\"\nservices:\n  web:\n    image: local/busybox:1\n    environment: *env\n  api:\n    image: local/busybox:1\n    environment: *env\n";
        Assert.Null(ComposeValidator.Validate(yaml));
    }

    [Fact]
    public void DeepNestingIsRefusedWithoutExhaustingTheStack()
    {
        var yaml = "services:\n  web:\n    x: " + new string('[', 100_000) + new string(']', 100_000) + "\n";
        Assert.Contains("nests deeper than", ComposeValidator.Validate(yaml));
    }

    [Fact]
    public void AnAliasBombIsRefusedWithoutBeingExpanded()
    {
        // The "billion laughs" shape: expanding it would need ~10^9 nodes. Validation only walks the text.
        var yaml = new StringBuilder("x-a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        for (var level = 'b'; level <= 'i'; level++)
        {
            var previous = (char)(level - 1);
            yaml.Append(CultureInfo.InvariantCulture, $"x-{level}: &{level} [*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous}]\n");
        }
        yaml.Append("services:\n  web:\n    image: local/busybox:1\n    labels: *i\n");
        var stopwatch = Stopwatch.StartNew();
        Assert.Contains("aliases expand to more than", ComposeValidator.Validate(yaml.ToString()));
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(5), $"validation took {stopwatch.Elapsed}");
    }
}
