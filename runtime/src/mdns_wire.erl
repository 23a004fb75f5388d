%% @doc Pure. The DNS message format (RFC 1035 section 4) as mDNS (RFC 6762) and DNS-SD (RFC 6763) use
%% it: decoding what a querier sends, bounded and defensive (a packet from the LAN is untrusted), and
%% encoding a responder's answers. Names are lists of labels; decoding lowercases them (DNS names
%% compare without case) and follows compression pointers only backwards, at most `MAX_HOPS' times, so a
%% pointer loop or a forged offset is an error, never a hang. No atom is made from a packet.
-module(mdns_wire).

-export([decode/1, encode/1, ptr/1, srv/2, txt/1, a/1, name/1]).
-export_type([message/0, question/0, record/0, name/0]).

-define(MAX_PACKET, 9000).      % RFC 6762 section 17: a message is at most 9000 bytes
-define(MAX_NAME, 255).         % RFC 1035 section 2.3.4
-define(MAX_LABEL, 63).
-define(MAX_HOPS, 16).
-define(MAX_ENTRIES, 64).       % questions + records read from one packet

-define(CLASS_IN, 1).

-type name() :: [binary()].
-type question() :: #{name := name(), type := 0..65535, unicast := boolean()}.
-type record() :: #{name := name(), type := 0..65535, ttl := non_neg_integer(), data := binary(),
                    flush => boolean()}.
-type message() :: #{id := 0..65535, response := boolean(), questions := [question()],
                     answers := [record()]}.

%% @doc A message as the wire has it, or why not. Authority and additional records are skipped
%% (a responder answers questions; the answer section is kept for known-answer suppression).
-spec decode(binary()) -> {ok, message()} | {error, term()}.
decode(Packet) when byte_size(Packet) > ?MAX_PACKET ->
    {error, too_large};
decode(<<Id:16, QR:1, _Opcode:4, _:7, _Rcode:4, QD:16, AN:16, _NS:16, _AR:16, Rest/binary>> = Packet) ->
    case QD + AN > ?MAX_ENTRIES of
        true ->
            {error, too_many_entries};
        false ->
            try
                {Questions, Rest2} = questions(Packet, Rest, QD, []),
                {Answers, _} = records(Packet, Rest2, AN, []),
                {ok, #{id => Id, response => QR =:= 1, questions => Questions, answers => Answers}}
            catch
                throw:Reason -> {error, Reason}
            end
    end;
decode(_) ->
    {error, truncated_header}.

questions(_Packet, Rest, 0, Acc) ->
    {lists:reverse(Acc), Rest};
questions(Packet, Bin, N, Acc) ->
    {Name, Rest} = name_at(Packet, Bin),
    case Rest of
        <<Type:16, QU:1, _Class:15, Rest2/binary>> ->
            questions(Packet, Rest2, N - 1, [#{name => Name, type => Type, unicast => QU =:= 1} | Acc]);
        _ ->
            throw(truncated_question)
    end.

records(_Packet, Rest, 0, Acc) ->
    {lists:reverse(Acc), Rest};
records(Packet, Bin, N, Acc) ->
    {Name, Rest} = name_at(Packet, Bin),
    case Rest of
        <<Type:16, Flush:1, _Class:15, Ttl:32, Len:16, Data:Len/binary, Rest2/binary>> ->
            R = #{name => Name, type => Type, ttl => Ttl, data => Data, flush => Flush =:= 1},
            records(Packet, Rest2, N - 1, [R | Acc]);
        _ ->
            throw(truncated_record)
    end.

%% The name at the start of Bin (a suffix of Packet) and the bytes after it in Bin.
name_at(Packet, Bin) ->
    Offset = byte_size(Packet) - byte_size(Bin),
    labels(Packet, Offset, Offset, ?MAX_HOPS, [], 0, undefined).

%% Start: the offset of the pointer last followed (pointers must go strictly backwards from it);
%% End: where the name ended in Bin's own bytes (the first pointer or the root), once known.
labels(Packet, At, Start, Hops, Acc, Size, End) ->
    case Packet of
        <<_:At/binary, 0, _/binary>> ->
            done(Packet, Acc, End, At + 1);
        <<_:At/binary, 3:2, Ptr:14, _/binary>> when Hops > 0, Ptr < Start ->
            labels(Packet, Ptr, Ptr, Hops - 1, Acc, Size, first(End, At + 2));
        <<_:At/binary, 3:2, _:14, _/binary>> ->
            throw(bad_pointer);
        <<_:At/binary, 0:2, Len:6, Label:Len/binary, _/binary>> when Len =< ?MAX_LABEL ->
            Size2 = Size + Len + 1,
            Size2 =< ?MAX_NAME orelse throw(name_too_long),
            labels(Packet, At + 1 + Len, Start, Hops, [httpd_parse:lower(Label) | Acc], Size2, End);
        <<_:At/binary, 0:2, _:6, _/binary>> ->
            throw(truncated_name);
        _ ->
            throw(bad_label)
    end.

first(undefined, At) -> At;
first(End, _At) -> End.

done(Packet, Acc, End, RootEnd) ->
    Stop = first(End, RootEnd),
    <<_:Stop/binary, Rest/binary>> = Packet,
    {lists:reverse(Acc), Rest}.

%% @doc A response: `#{answers := [R], additional => [R]}', each record `#{name, type, ttl, data}'
%% (and `flush' for the cache-flush bit of a unique record). Id 0, authoritative (RFC 6762 section
%% 18). Names are written whole: a response stays well under a device's one UDP packet.
-spec encode(#{answers := [record()], additional => [record()], id => 0..65535}) -> binary().
encode(Msg = #{answers := Answers}) ->
    Additional = maps:get(additional, Msg, []),
    Id = maps:get(id, Msg, 0),
    Head = <<Id:16, 1:1, 0:4, 1:1, 0:10, 0:16, (length(Answers)):16, 0:16, (length(Additional)):16>>,
    iolist_to_binary([Head, [rr(R) || R <- Answers], [rr(R) || R <- Additional]]).

rr(#{name := Name, type := Type, ttl := Ttl, data := Data} = R) ->
    Flush = case maps:get(flush, R, false) of true -> 1; false -> 0 end,
    [name(Name), <<Type:16, Flush:1, ?CLASS_IN:15, Ttl:32, (byte_size(Data)):16>>, Data].

%% @doc A name in wire form (no compression).
-spec name(name()) -> binary().
name(Labels) ->
    iolist_to_binary([[<<(byte_size(L))>>, L] || L <- Labels] ++ [<<0>>]).

%% @doc PTR record data.
ptr(Name) -> name(Name).

%% @doc SRV record data: priority 0, weight 0, `Port', `Target'.
srv(Port, Target) -> <<0:16, 0:16, Port:16, (name(Target))/binary>>.

%% @doc TXT record data from `[{Key, Value}]' (RFC 6763 section 6: `key=value' strings of at most 255
%% bytes; a pair that would not fit is left out).
txt(Pairs) ->
    case [S || {K, V} <- Pairs, S <- [<<K/binary, "=", V/binary>>], byte_size(S) =< 255] of
        [] -> <<0>>;
        Strings -> iolist_to_binary([[<<(byte_size(S))>>, S] || S <- Strings])
    end.

%% @doc A record data.
a({A, B, C, D}) -> <<A, B, C, D>>.
