# bash completion for scriptqa (installed as share/bash-completion/completions/scriptqa).
_scriptqa() {
  local cur prev words cword
  _init_completion || return
  local commands="check rewrite explain audit compile lint eval"
  local scan="--rules --add-rules --db --limit --profile --profile-name --min-severity --category
              --fail-on --color --json --no-mask --help"
  local cmd="" w
  for w in "${words[@]:1:cword-1}"; do
    case " $commands " in *" $w "*) cmd=$w; break ;; esac
  done
  case $prev in
    --rules|--add-rules|--db|--profile|-o|--output|--findings|--summary|--report)
      _filedir; return ;;
    --out) _filedir -d; return ;;
    --min-severity) COMPREPLY=($(compgen -W "advice review block" -- "$cur")); return ;;
    --fail-on) COMPREPLY=($(compgen -W "advice review block none" -- "$cur")); return ;;
    --color|--progress) COMPREPLY=($(compgen -W "auto always never" -- "$cur")); return ;;
    --format) COMPREPLY=($(compgen -W "auto jsonl csv" -- "$cur")); return ;;
    --category) COMPREPLY=($(compgen -W "ad_law deflection off_platform review privacy script_quality" -- "$cur")); return ;;
    --limit) COMPREPLY=($(compgen -W "max_regex_bytes= max_regexes= max_total_regex_bytes= max_literals=" -- "$cur")); return ;;
  esac
  local opts
  case $cmd in
    "") opts="$commands --version --help" ;;
    check) opts="$scan --lines" ;;
    rewrite|explain) opts=$scan ;;
    audit) opts="$scan --out --findings --summary --report --format --threads --quiet --strict
                 --progress --agent-role --customer-role --conversation-field --turn-field
                 --role-field --text-field --timestamp-field --agent-field --shop-field
                 --first-response-limit --reply-limit --promo --promo-reply-limit
                 --max-record-bytes --examples-per-rule" ;;
    compile) opts="--rules --limit --output --json --help" ;;
    lint) opts="--rules --limit --json --help" ;;
    eval) opts="$scan --flag-at --all" ;;
  esac
  if [[ $cur == -* || -z $cmd ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif [[ $cmd == audit || $cmd == compile || $cmd == lint || $cmd == eval ]] || [[ " ${words[*]} " == *" --lines "* ]]; then
    _filedir
  fi
}
complete -F _scriptqa scriptqa
