%% The harness's wire JSON: what the daemon's serde_json must read back.
-module(avmd_wire_tests).
-include_lib("eunit/include/eunit.hrl").

enc(T) -> iolist_to_binary(avmd_wire:json(T)).

keys_are_sorted_so_equal_terms_give_equal_bytes_test() ->
    ?assertEqual(<<"{\"a\":1,\"b\":[true,false,\"x\"]}">>, enc(#{b => [true, false, x], <<"a">> => 1})).

quotes_backslashes_and_control_characters_are_escaped_test() ->
    ?assertEqual(<<"\"q\\\"b\\\\n\\u000at\\u0009\"">>, enc(<<"q\"b\\n\nt\t">>)).

utf8_passes_through_unchanged_test() ->
    ?assertEqual(<<"\"h\xc3\xa9\"">>, enc(<<"h\xc3\xa9">>)).

nested_maps_and_empty_containers_test() ->
    ?assertEqual(<<"{\"e\":[],\"m\":{}}">>, enc(#{e => [], m => #{}})).
