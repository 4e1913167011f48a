using System.CommandLine;

namespace InstaDeploy.Cli.Commands;

/// <summary>
/// <c>instadeploy completion bash|zsh</c>: prints a completion script. Each completion asks the tool itself through
/// System.CommandLine's <c>[suggest:POSITION]</c> directive, so it always knows the installed version's commands,
/// options and context names.
/// </summary>
public sealed class CompletionCommand : BaseCommand
{
    private readonly Argument<string> _shell = new Argument<string>("shell") { Description = "bash or zsh" }.AcceptOnlyFromAmong("bash", "zsh");

    public CompletionCommand(CommandServices services)
        : base("completion", "Print a shell completion script: `source <(instadeploy completion bash)` (or zsh) in your shell's rc file", services)
    {
        Add(_shell);
    }

    protected override async Task<int> ExecuteAsync(CliContext context, CancellationToken cancellationToken)
    {
        await context.Output.WriteTextAsync(context.Required(_shell) == "zsh" ? Zsh : Bash);
        return ExitCodes.Success;
    }

    public const string Bash = """
        # bash completion for instadeploy. Load it with: source <(instadeploy completion bash)
        _instadeploy_complete() {
            local IFS=$'\n'
            local line="${COMP_LINE:0:$COMP_POINT}"
            local suggestions
            suggestions="$("${COMP_WORDS[0]}" "[suggest:${#line}]" "$line" 2>/dev/null)" || return 0
            COMPREPLY=($(compgen -W "$suggestions" -- "${COMP_WORDS[COMP_CWORD]}"))
        }
        complete -o default -F _instadeploy_complete instadeploy

        """;

    public const string Zsh = """
        #compdef instadeploy
        # zsh completion for instadeploy. Load it with: source <(instadeploy completion zsh)  (after compinit)
        _instadeploy() {
            local line="${(j: :)words[1,CURRENT]}"
            local -a suggestions
            suggestions=("${(@f)$("${words[1]}" "[suggest:${#line}]" "$line" 2>/dev/null)}")
            compadd -- "${suggestions[@]}"
        }
        compdef _instadeploy instadeploy

        """;
}
