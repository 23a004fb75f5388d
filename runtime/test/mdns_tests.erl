%% @doc Pure (EUnit) and one socket test: mdns_wire decodes what queriers send and refuses what it
%% must (truncation, compression loops, forward pointers, oversized names and packets) without a crash;
%% mdns_responder answers PTR/SRV/TXT/A/ANY for its service and nothing else. The end-to-end announce
%% and discovery run in a network namespace (tests/devices).
-module(mdns_tests).
-include_lib("eunit/include/eunit.hrl").

query(Name, Type) ->
    query(Name, Type, 0).
query(Name, Type, QU) ->
    <<16#1234:16, 0:16, 1:16, 0:16, 0:16, 0:16, (mdns_wire:name(Name))/binary, Type:16, QU:1, 1:15>>.

decode_a_query_test() ->
    {ok, M} = mdns_wire:decode(query([<<"_AVMD">>, <<"_tcp">>, <<"local">>], 12, 1)),
    ?assertMatch(#{id := 16#1234, response := false,
                   questions := [#{name := [<<"_avmd">>, <<"_tcp">>, <<"local">>], type := 12, unicast := true}]}, M).

compressed_names_are_followed_backwards_test() ->
    %% second question's name: "x" + pointer to offset 12 (the first name)
    First = mdns_wire:name([<<"_avmd">>, <<"_tcp">>, <<"local">>]),
    P = <<0:16, 0:16, 2:16, 0:16, 0:16, 0:16, First/binary, 12:16, 1:16, 1, $x, 3:2, 12:14, 1:16, 1:16>>,
    {ok, #{questions := [_, #{name := N}]}} = mdns_wire:decode(P),
    ?assertEqual([<<"x">>, <<"_avmd">>, <<"_tcp">>, <<"local">>], N).

malformed_packets_are_errors_not_crashes_test_() ->
    Head = fun(QD) -> <<0:16, 0:16, QD:16, 0:16, 0:16, 0:16>> end,
    Long = iolist_to_binary([[63, binary:copy(<<"a">>, 63)] || _ <- lists:seq(1, 5)]),
    Cases = [
        {truncated_header, <<1, 2, 3>>},
        {truncated_name, <<(Head(1))/binary, 5, "ab">>},
        {truncated_question, <<(Head(1))/binary, 0, 0>>},
        %% a pointer to itself, and one forwards: loops and forged offsets
        {bad_pointer, <<(Head(1))/binary, 3:2, 12:14, 1:16, 1:16>>},
        {bad_pointer, <<(Head(1))/binary, 3:2, 40:14, 1:16, 1:16>>},
        {name_too_long, <<(Head(1))/binary, Long/binary, 0, 1:16, 1:16>>},
        {bad_label, <<(Head(1))/binary, 2:2, 0:6, 0, 1:16, 1:16>>},
        {too_many_entries, Head(65)},
        {too_large, binary:copy(<<0>>, 9001)},
        {truncated_record, <<0:16, 1:1, 0:15, 0:16, 1:16, 0:16, 0:16, 0, 1:16, 1:16, 0:32, 10:16, "abc">>}
    ],
    [?_assertEqual({error, Why}, mdns_wire:decode(P)) || {Why, P} <- Cases].

random_bytes_never_crash_the_decoder_test() ->
    Seeds = lists:seq(1, 2000),
    lists:foreach(fun(N) ->
        Bin = crypto:strong_rand_bytes(N rem 64 + 12),
        case mdns_wire:decode(Bin) of
            {ok, _} -> ok;
            {error, _} -> ok
        end
    end, Seeds).

encode_decodes_back_test() ->
    R = #{name => [<<"a">>, <<"local">>], type => 1, ttl => 120, flush => true, data => <<127, 0, 0, 1>>},
    Bin = mdns_wire:encode(#{answers => [R]}),
    ?assertEqual({ok, #{id => 0, response => true, questions => [], answers => [R]}}, mdns_wire:decode(Bin)).

txt_pairs_test() ->
    ?assertEqual(<<5, "a=b_c", 3, "k=v">>, mdns_wire:txt([{<<"a">>, <<"b_c">>}, {<<"k">>, <<"v">>}])),
    ?assertEqual(<<0>>, mdns_wire:txt([])),
    ?assertEqual(<<0>>, mdns_wire:txt([{<<"big">>, binary:copy(<<"x">>, 300)}])).

service() ->
    #{instance => <<"sim-0">>, host => <<"sim-0">>, addr => {127, 0, 0, 1}, http_port => 8080,
      txt => [{<<"app">>, <<"hello_web">>}]}.

types(Records) -> [T || #{type := T} <- Records].

answers_test_() ->
    S = service(),
    Q = fun(Name, Type) -> mdns_responder:answer([#{name => Name, type => Type, unicast => false}], S) end,
    Avmd = [<<"_avmd">>, <<"_tcp">>, <<"local">>],
    Inst = [<<"sim-0">> | Avmd],
    [?_assertMatch({[#{type := 12}], [#{type := 33}, #{type := 16}, #{type := 1}]}, Q(Avmd, 12)),
     ?_assertEqual([33, 16], types(element(1, Q(Inst, 255)))),
     ?_assertEqual([16], types(element(1, Q(Inst, 16)))),
     ?_assertEqual([1], types(element(1, Q([<<"sim-0">>, <<"local">>], 1)))),
     ?_assertEqual([12, 12], types(element(1, Q([<<"_services">>, <<"_dns-sd">>, <<"_udp">>, <<"local">>], 12)))),
     ?_assertEqual({[], []}, Q([<<"other">>, <<"local">>], 1)),
     ?_assertEqual({[], []}, Q(Avmd, 1)),
     ?_assertMatch({[#{type := 12}], _}, Q([<<"_http">>, <<"_tcp">>, <<"local">>], 12))].

records_carry_the_service_test() ->
    #{srv := #{data := Srv}, txt := #{data := Txt}, a := #{data := A}} = mdns_responder:records(service()),
    ?assertEqual(<<0:16, 0:16, 8080:16, (mdns_wire:name([<<"sim-0">>, <<"local">>]))/binary>>, Srv),
    ?assertEqual(<<13, "app=hello_web">>, Txt),
    ?assertEqual(<<127, 0, 0, 1>>, A).

%% Unicast to a querier on another port (RFC 6762 section 6.7): on 127.0.0.1, no multicast involved.
legacy_unicast_query_gets_an_answer_test() ->
    {ok, Owner} = {ok, spawn(fun() -> receive stop -> ok end end)},
    Port = 40000 + erlang:unique_integer([positive]) rem 20000,
    {ok, R} = mdns_responder:start(Owner, (service())#{interface => {127, 0, 0, 1}, port => Port}),
    try
        {ok, C} = gen_udp:open(0, [binary, {active, false}, {ip, {127, 0, 0, 1}}]),
        ok = gen_udp:send(C, {127, 0, 0, 1}, Port, query([<<"sim-0">>, <<"_avmd">>, <<"_tcp">>, <<"local">>], 33)),
        {ok, {_, _, Reply}} = recv_response(C, 20),
        {ok, #{id := Id, answers := [#{type := 33}]}} = mdns_wire:decode(Reply),
        ?assertEqual(16#1234, Id),
        gen_udp:close(C)
    after
        Owner ! stop,
        mdns_responder:stop(R)
    end.

%% skips the responder's own announcements (multicast loops back on some hosts)
recv_response(C, 0) -> gen_udp:recv(C, 0, 0);
recv_response(C, N) ->
    case gen_udp:recv(C, 0, 2000) of
        {ok, {_, _, P}} = Ok ->
            case mdns_wire:decode(P) of
                {ok, #{id := 16#1234}} -> Ok;
                _ -> recv_response(C, N - 1)
            end;
        Other -> Other
    end.
