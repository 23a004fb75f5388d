%% @doc Pure: the JSON the host harness and the compile VM write on their stdio frames to the daemon.
%% Host-only (both run on OTP 25, which has no `json' module); never packed. Keys are sorted so the
%% same term always gives the same bytes.
-module(avmd_wire).
-export([json/1]).

-spec json(term()) -> iodata().
json(M) when is_map(M) ->
    %% Sort on the written key, so atom and binary keys interleave as the daemon reads them.
    Kvs = [[json(K), $:, json(V)] || {K, V} <- lists:sort([{key(K), V} || {K, V} <- maps:to_list(M)])],
    [${, lists:join($,, Kvs), $}];
json(L) when is_list(L) -> [$[, lists:join($,, [json(X) || X <- L]), $]];
json(true) -> <<"true">>;
json(false) -> <<"false">>;
json(A) when is_atom(A) -> json(atom_to_binary(A));
json(I) when is_integer(I) -> integer_to_binary(I);
json(B) when is_binary(B) -> [$", esc(B, <<>>), $"].

%% RFC 8259 7: quote, backslash and control characters must be escaped.
esc(<<$", R/binary>>, Acc) -> esc(R, <<Acc/binary, "\\\"">>);
esc(<<$\\, R/binary>>, Acc) -> esc(R, <<Acc/binary, "\\\\">>);
esc(<<C, R/binary>>, Acc) when C < 32 ->
    esc(R, <<Acc/binary, (iolist_to_binary(io_lib:format("\\u~4.16.0b", [C])))/binary>>);
esc(<<C, R/binary>>, Acc) -> esc(R, <<Acc/binary, C>>);
esc(<<>>, Acc) -> Acc.

key(B) when is_binary(B) -> B;
key(A) when is_atom(A) -> atom_to_binary(A).
