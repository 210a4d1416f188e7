#compdef postexplain

__postexplain_complete() {
    local -ar non_empty_completions=("${@:#(|:*)}")
    local -ar empty_completions=("${(M)@:#(|:*)}")
    _describe -V '' non_empty_completions -- empty_completions -P $'\'\''
}

__postexplain_custom_complete() {
    local -a completions
    completions=("${(@f)"$("${command_name}" "${@}" "${command_line[@]}")"}")
    if [[ "${#completions[@]}" -gt 1 ]]; then
        __postexplain_complete "${completions[@]:0:-1}"
    fi
}

__postexplain_cursor_index_in_current_word() {
    if [[ -z "${QIPREFIX}${IPREFIX}${PREFIX}" ]]; then
        printf 0
    else
        printf %s "${#${(z)LBUFFER}[-1]}"
    fi
}

_postexplain() {
    emulate -RL zsh -G
    setopt extendedglob nullglob numericglobsort
    unsetopt aliases banghist

    local -xr SAP_SHELL=zsh
    local -x SAP_SHELL_VERSION
    SAP_SHELL_VERSION="$(builtin emulate zsh -c 'printf %s "${ZSH_VERSION}"')"
    local -r SAP_SHELL_VERSION

    local context state state_descr line
    local -A opt_args

    local -r command_name="${words[1]}"
    local -ar command_line=("${words[@]}")
    local -ir current_word_index="$((CURRENT - 1))"

    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '--help[Show help information.]'
        '(-): :->command'
        '(-)*:: :->arg'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0
    case "${state}" in
    command)
        local -ar subcommands=(
            'lookup:Show the keys Postfix tries for one role, in order, and which table and rule answers.'
            'restrictions:Evaluate smtpd'\''s restriction lists for an envelope and show which restriction decided.'
            'headers:Run a message (stdin) or header lines (--header) through header_checks, mime_header_checks and body_checks.'
            'help:Show subcommand help information.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        lookup|restrictions|headers|help)
            "_postexplain_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_postexplain_lookup() {
    local -i ret=1
    local -ar ___color=('auto' 'always' 'never')
    local -ar _role=('virtual_alias_maps' 'canonical_maps' 'sender_canonical_maps' 'recipient_canonical_maps' 'transport_maps' 'relocated_maps' 'virtual_mailbox_maps' 'relay_recipient_maps' 'sender_dependent_relayhost_maps' 'alias_maps' 'check_client_access' 'check_reverse_client_access' 'check_helo_access' 'check_sender_access' 'check_recipient_access' 'check_client_mx_access' 'check_client_ns_access' 'check_helo_mx_access' 'check_helo_ns_access' 'check_sender_mx_access' 'check_sender_ns_access' 'check_recipient_mx_access' 'check_recipient_ns_access')
    local -ar arg_specs=(
        '(-c --config-directory)'{-c,--config-directory}'[Read main.cf and master.cf from this directory (default\: $MAIL_CONFIG, else /etc/postfix).]:config-directory:_files -/'
        '--service[Apply the -o settings of this master.cf service (name/type, e.g. submission/inet).]:service:'
        '*'{-o,--set}'[Override a main.cf parameter (name=value); may be repeated.]:set:'
        '--json[Print one JSON document instead of the indented trace.]'
        '--color[Colour the trace\: auto (on a terminal), always or never.]:color:{__postexplain_complete "${___color[@]}"}'
        '--table[The table(s) to search instead of the role'\''s parameter (required for check_*_access roles).]:table:'
        ':role:{__postexplain_complete "${_role[@]}"}'
        ':key:'
        '--version[Show the version.]'
        '--help[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_postexplain_restrictions() {
    local -i ret=1
    local -ar ___color=('auto' 'always' 'never')
    local -ar arg_specs=(
        '(-c --config-directory)'{-c,--config-directory}'[Read main.cf and master.cf from this directory (default\: $MAIL_CONFIG, else /etc/postfix).]:config-directory:_files -/'
        '--service[Apply the -o settings of this master.cf service (name/type, e.g. submission/inet).]:service:'
        '*'{-o,--set}'[Override a main.cf parameter (name=value); may be repeated.]:set:'
        '--json[Print one JSON document instead of the indented trace.]'
        '--color[Colour the trace\: auto (on a terminal), always or never.]:color:{__postexplain_complete "${___color[@]}"}'
        '--client[The client as name\[address\], \[address\] or address.]:client:'
        '--helo[The HELO/EHLO name.]:helo:'
        '--sender[The envelope sender (<> for the null sender).]:sender:'
        '--recipient[The envelope recipient.]:recipient:'
        '--sasl-user[The SASL login name, when the client authenticated.]:sasl-user:'
        '--version[Show the version.]'
        '--help[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_postexplain_headers() {
    local -i ret=1
    local -ar ___color=('auto' 'always' 'never')
    local -ar ___stage=('cleanup' 'smtp' 'lmtp')
    local -ar arg_specs=(
        '(-c --config-directory)'{-c,--config-directory}'[Read main.cf and master.cf from this directory (default\: $MAIL_CONFIG, else /etc/postfix).]:config-directory:_files -/'
        '--service[Apply the -o settings of this master.cf service (name/type, e.g. submission/inet).]:service:'
        '*'{-o,--set}'[Override a main.cf parameter (name=value); may be repeated.]:set:'
        '--json[Print one JSON document instead of the indented trace.]'
        '--color[Colour the trace\: auto (on a terminal), always or never.]:color:{__postexplain_complete "${___color[@]}"}'
        '--stage[Whose checks\: cleanup (on input\: header_checks, mime_header_checks, nested_header_checks, body_checks), smtp or lmtp (on output\: smtp_header_checks, smtp_mime_header_checks, smtp_nested_header_checks, smtp_body_checks, or lmtp_*).]:stage:{__postexplain_complete "${___stage[@]}"}'
        '*--header[A header line (Name\: value) to check instead of a message on stdin; may be repeated.]:header:'
        '--version[Show the version.]'
        '--help[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_postexplain_help() {
    local -i ret=1
    local -ar arg_specs=(
        '*:subcommands:'
        '--version[Show the version.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

if [[ "${funcstack[1]}" = _postexplain ]]; then
    _postexplain "${@}"
else
    compdef _postexplain postexplain
fi
