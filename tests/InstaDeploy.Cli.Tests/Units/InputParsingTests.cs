using InstaDeploy.Cli.Commands.Deploy;
using InstaDeploy.Cli.Commands.Revisions;
using InstaDeploy.Cli.Input;

namespace InstaDeploy.Cli.Tests.Units;

/// <summary>The local parsing the commands rely on: dotenv files, project names, unified diffs.</summary>
public sealed class InputParsingTests
{
    [Fact]
    public void ADotenvFileReadsBareQuotedAndExportedValuesAndKeepsTheLastOfADuplicate()
    {
        var values = DotEnvFile.Parse("""
            # comment
            PLAIN=hello world   # trailing comment
            export EXPORTED=1
            SINGLE='$HOME \n #x'
            DOUBLE="say \"hi\" \\ # not a comment"
            EMPTY=
            PLAIN=again
            """, "test.env");

        KeyValuePair<string, string>[] expected =
            [new("EXPORTED", "1"), new("SINGLE", "$HOME \\n #x"), new("DOUBLE", "say \"hi\" \\ # not a comment"), new("EMPTY", ""), new("PLAIN", "again")];
        Assert.Equal(expected, values);
    }

    [Theory]
    [InlineData("NO_EQUALS", "line 1 is not NAME=value")]
    [InlineData("1ABC=x", "line 1 '1ABC' is not a variable name")]
    [InlineData("A=\"open", "line 1 has no closing double quote")]
    [InlineData("A='x' y", "line 1 has text after the closing quote")]
    public void ABadDotenvLineIsAUsageErrorNamingTheLine(string text, string message)
    {
        var error = Assert.Throws<CliException>(() => DotEnvFile.Parse(text, "bad.env"));
        Assert.Equal(ExitCodes.Usage, error.ExitCode);
        Assert.Contains("bad.env " + message, error.Message);
    }

    [Fact]
    public void TheProjectNameIsTheFlagElseTheFilesNameKeyElseItsFolder()
    {
        var file = new FileInfo("/srv/shop-front/docker-compose.yml");
        Assert.Equal("given", ComposeInput.ProjectName("given", file, "name: other\n"u8.ToArray()));
        Assert.Equal("from-file", ComposeInput.ProjectName(null, file, "name: \"from-file\"  # the project\nservices: {}\n"u8.ToArray()));
        Assert.Equal("shop-front", ComposeInput.ProjectName(null, file, "services:\n  web:\n    name: nested\n"u8.ToArray()));
        Assert.Equal(ExitCodes.Usage, Assert.Throws<CliException>(() => ComposeInput.ProjectName("a b", file, [])).ExitCode);
    }

    [Fact]
    public void AUnifiedDiffHasHeadersHunksAndContext()
    {
        var before = string.Join('\n', Enumerable.Range(1, 12).Select(i => $"line {i}")) + "\n";
        var after = before.Replace("line 2\n", "line two\n").Replace("line 11\n", "");
        var diff = UnifiedDiff.Create(before, after, "a", "b", context: 1);
        Assert.Equal(["--- a", "+++ b", "@@ -1,3 +1,3 @@", " line 1", "-line 2", "+line two", " line 3", "@@ -10,3 +10,2 @@", " line 10", "-line 11", " line 12"], diff);
        Assert.Empty(UnifiedDiff.Create(before, before, "a", "b", 3));
    }
}
