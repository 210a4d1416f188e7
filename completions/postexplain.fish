function __postexplain_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __postexplain_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __postexplain_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __postexplain_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __postexplain_parse_tokens -S
    set -l unparsed_tokens (__postexplain_tokens -pc)
    switch $unparsed_tokens[1]
    case 'postexplain'
        __postexplain_parse_subcommand 0 'version' 'help'
        switch $unparsed_tokens[1]
        case 'lookup'
            __postexplain_parse_subcommand 2 'c/config-directory=' 'service=' 'o/set=+' 'json' 'color=' 'table=' 'version' 'help'
        case 'restrictions'
            __postexplain_parse_subcommand 0 'c/config-directory=' 'service=' 'o/set=+' 'json' 'color=' 'client=' 'helo=' 'sender=' 'recipient=' 'sasl-user=' 'version' 'help'
        case 'headers'
            __postexplain_parse_subcommand 0 'c/config-directory=' 'service=' 'o/set=+' 'json' 'color=' 'stage=' 'header=+' 'version' 'help'
        case 'help'
            __postexplain_parse_subcommand -r 1 'version'
        end
    end
end

function __postexplain_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __postexplain_parse_subcommand -S -a positional_count
    argparse -s r -- $argv
    set -l option_specs $argv[2..]
    set -l is_repeating_positional $_flag_r
    set -el _flag_r
    set -a commands $unparsed_tokens[1]
    set positional_index 0
    while true
        set -e unparsed_tokens[1]
        argparse -sn "$commands" $option_specs -- $unparsed_tokens 2> /dev/null
        set unparsed_tokens $argv
        set positional_index (math $positional_index + 1)
        for non_repeating_flag_or_option in $non_repeating_flags_or_options
            if set -ql "_flag_$(string replace -a - _ -- $non_repeating_flag_or_option)"
                set non_repeating_flags_or_options_absent 1
                break
            end
        end
        test (count $unparsed_tokens) -eq 0 -o \( -z "$is_repeating_positional" -a "$positional_index" -gt "$positional_count" \) && break
    end
end

function __postexplain_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __postexplain_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__postexplain_tokens -p)
    if test -z "$(__postexplain_tokens -t)"
        set -l index (count (__postexplain_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'postexplain' -f
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_flags_or_options "postexplain" version' -l 'version' -d 'Show the version.'
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_flags_or_options "postexplain" help' -l 'help' -d 'Show help information.'
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_positional "postexplain" -eq 1' -fa 'lookup' -d 'Show the keys Postfix tries for one role, in order, and which table and rule answers.'
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_positional "postexplain" -eq 1' -fa 'restrictions' -d 'Evaluate smtpd\'s restriction lists for an envelope and show which restriction decided.'
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_positional "postexplain" -eq 1' -fa 'headers' -d 'Run a message (stdin) or header lines (--header) through header_checks, mime_header_checks and body_checks.'
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_positional "postexplain" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_flags_or_options "postexplain lookup" c config-directory' -s 'c' -l 'config-directory' -d 'Read main.cf and master.cf from this directory (default: $MAIL_CONFIG, else /etc/postfix).' -rfa '(__postexplain_complete_directories)'
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_flags_or_options "postexplain lookup" service' -l 'service' -d 'Apply the -o settings of this master.cf service (name/type, e.g. submission/inet).' -rfka ''
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_flags_or_options "postexplain lookup"' -s 'o' -l 'set' -d 'Override a main.cf parameter (name=value); may be repeated.' -rfka ''
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_flags_or_options "postexplain lookup" json' -l 'json' -d 'Print one JSON document instead of the indented trace.'
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_flags_or_options "postexplain lookup" color' -l 'color' -d 'Colour the trace: auto (on a terminal), always or never.' -rfka 'auto always never'
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_flags_or_options "postexplain lookup" table' -l 'table' -d 'The table(s) to search instead of the role\'s parameter (required for check_*_access roles).' -rfka ''
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_positional "postexplain lookup" -eq 1' -fka 'virtual_alias_maps canonical_maps sender_canonical_maps recipient_canonical_maps transport_maps relocated_maps virtual_mailbox_maps relay_recipient_maps sender_dependent_relayhost_maps alias_maps check_client_access check_reverse_client_access check_helo_access check_sender_access check_recipient_access check_client_mx_access check_client_ns_access check_helo_mx_access check_helo_ns_access check_sender_mx_access check_sender_ns_access check_recipient_mx_access check_recipient_ns_access'
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_flags_or_options "postexplain lookup" version' -l 'version' -d 'Show the version.'
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_flags_or_options "postexplain lookup" help' -l 'help' -d 'Show help information.'
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_flags_or_options "postexplain restrictions" c config-directory' -s 'c' -l 'config-directory' -d 'Read main.cf and master.cf from this directory (default: $MAIL_CONFIG, else /etc/postfix).' -rfa '(__postexplain_complete_directories)'
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_flags_or_options "postexplain restrictions" service' -l 'service' -d 'Apply the -o settings of this master.cf service (name/type, e.g. submission/inet).' -rfka ''
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_flags_or_options "postexplain restrictions"' -s 'o' -l 'set' -d 'Override a main.cf parameter (name=value); may be repeated.' -rfka ''
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_flags_or_options "postexplain restrictions" json' -l 'json' -d 'Print one JSON document instead of the indented trace.'
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_flags_or_options "postexplain restrictions" color' -l 'color' -d 'Colour the trace: auto (on a terminal), always or never.' -rfka 'auto always never'
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_flags_or_options "postexplain restrictions" client' -l 'client' -d 'The client as name[address], [address] or address.' -rfka ''
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_flags_or_options "postexplain restrictions" helo' -l 'helo' -d 'The HELO/EHLO name.' -rfka ''
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_flags_or_options "postexplain restrictions" sender' -l 'sender' -d 'The envelope sender (<> for the null sender).' -rfka ''
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_flags_or_options "postexplain restrictions" recipient' -l 'recipient' -d 'The envelope recipient.' -rfka ''
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_flags_or_options "postexplain restrictions" sasl-user' -l 'sasl-user' -d 'The SASL login name, when the client authenticated.' -rfka ''
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_flags_or_options "postexplain restrictions" version' -l 'version' -d 'Show the version.'
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_flags_or_options "postexplain restrictions" help' -l 'help' -d 'Show help information.'
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_flags_or_options "postexplain headers" c config-directory' -s 'c' -l 'config-directory' -d 'Read main.cf and master.cf from this directory (default: $MAIL_CONFIG, else /etc/postfix).' -rfa '(__postexplain_complete_directories)'
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_flags_or_options "postexplain headers" service' -l 'service' -d 'Apply the -o settings of this master.cf service (name/type, e.g. submission/inet).' -rfka ''
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_flags_or_options "postexplain headers"' -s 'o' -l 'set' -d 'Override a main.cf parameter (name=value); may be repeated.' -rfka ''
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_flags_or_options "postexplain headers" json' -l 'json' -d 'Print one JSON document instead of the indented trace.'
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_flags_or_options "postexplain headers" color' -l 'color' -d 'Colour the trace: auto (on a terminal), always or never.' -rfka 'auto always never'
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_flags_or_options "postexplain headers" stage' -l 'stage' -d 'Whose checks: cleanup (on input: header_checks, mime_header_checks, nested_header_checks, body_checks), smtp or lmtp (on output: smtp_header_checks, smtp_mime_header_checks, smtp_nested_header_checks, smtp_body_checks, or lmtp_*).' -rfka 'cleanup smtp lmtp'
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_flags_or_options "postexplain headers"' -l 'header' -d 'A header line (Name: value) to check instead of a message on stdin; may be repeated.' -rfka ''
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_flags_or_options "postexplain headers" version' -l 'version' -d 'Show the version.'
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_flags_or_options "postexplain headers" help' -l 'help' -d 'Show help information.'
complete -c 'postexplain' -n '__postexplain_should_offer_completions_for_flags_or_options "postexplain help" version' -l 'version' -d 'Show the version.'
