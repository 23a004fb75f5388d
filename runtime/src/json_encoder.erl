%% @doc Pure. atomvm_lib's `json_encoder:encode/1', on our JSON encoder (`httpd_json'), for apps written
%% against atomvm_lib. The same terms mean the same JSON: maps and proplists (`[{Key, Value}]') are
%% objects, strings (lists of bytes) and binaries are strings, other lists are arrays, atoms are strings,
%% `true'/`false' stay literals, `undefined', `null' and `nil' are `null'. Unlike atomvm_lib's, strings
%% are escaped and a latin-1 string comes out as UTF-8, so the output is always valid JSON; a term JSON
%% cannot hold (a tuple, a pid) raises `{json_encode, Term}'.
-module(json_encoder).

-export([encode/1]).

%% @doc The JSON text of `Term', as iodata.
-spec encode(term()) -> iodata().
encode(Term) ->
    httpd_json:encode(to_json(Term)).

to_json(T) when T =:= undefined; T =:= nil; T =:= null -> null;
to_json(T) when is_map(T) -> map_values(maps:to_list(T), #{});
to_json([{K, _} | _] = L) when is_atom(K); is_binary(K) -> pairs(L, #{});
to_json(L) when is_list(L) ->
    case is_string(L) of
        true -> unicode:characters_to_binary(L, latin1);
        false -> list(L, [])
    end;
to_json(T) -> T.

map_values([{K, V} | Rest], Acc) -> map_values(Rest, Acc#{K => to_json(V)});
map_values([], Acc) -> Acc.

pairs([{K, V} | Rest], Acc) -> pairs(Rest, Acc#{K => to_json(V)});
pairs([], Acc) -> Acc;
pairs(Other, _Acc) -> erlang:error({json_encode, Other}).

list([H | T], Acc) -> list(T, [to_json(H) | Acc]);
list([], Acc) -> lists:reverse(Acc).

%% atomvm_lib's rule: a (possibly empty) list of integers 0..255 is a string.
is_string([H | T]) when is_integer(H), H >= 0, H =< 255 -> is_string(T);
is_string(L) -> L =:= [].
