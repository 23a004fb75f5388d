%% @doc Pure over `device_flash' reads (no process): what a bundle image looks like on flash — the
%% packbeam header an upload must start with, where a bundle ends (its `end' section), and hashing
%% a partition's first bytes in bounded pieces.
-module(ota_image).

-export([magic/0, starts_like_bundle/1, bundle_length/1, hash_partition/2, hash_prefix/3]).

-define(MAGIC, <<"#!/usr/bin/env AtomVM\n", 0, 0>>).
-define(PIECE, 4096).
%% A section header (size, flags, reserved) and the shortest name (`end' plus its NUL).
-define(END_SECTION_BYTES, 16).

%% @doc The 24 bytes every `.avm' starts with (FACTS.md).
-spec magic() -> binary().
magic() -> ?MAGIC.

%% @doc True when `First' (at least 24 bytes) starts like a packbeam bundle.
-spec starts_like_bundle(binary()) -> boolean().
starts_like_bundle(<<Magic:24/binary, _/binary>>) -> Magic =:= ?MAGIC;
starts_like_bundle(_) -> false.

%% @doc The bundle's length in partition `Part': the offset after its `end' section, found by
%% walking the section headers. `error' when the partition holds no whole bundle.
-spec bundle_length(binary()) -> {ok, pos_integer()} | error.
bundle_length(Part) ->
    case device_flash:read(Part, 0, 24) of
        {ok, ?MAGIC} -> walk(Part, 24, 0);
        _ -> error
    end.

%% At most one section per 16 bytes of a 4 MB partition: a bound, so a corrupt chain cannot spin.
walk(_Part, _At, Steps) when Steps > 262144 -> error;
walk(Part, At, Steps) ->
    case device_flash:read(Part, At, 12) of
        {ok, <<0:32, 0:32, 0:32>>} -> {ok, At + ?END_SECTION_BYTES};
        {ok, <<Size:32, _Flags:32, _:32>>} when Size >= 16, Size rem 4 =:= 0 -> walk(Part, At + Size, Steps + 1);
        _ -> error
    end.

%% @doc Lowercase hex SHA-256 of the first `Len' bytes of `Part'.
-spec hash_partition(binary(), non_neg_integer()) -> binary() | undefined.
hash_partition(Part, Len) ->
    case hash_prefix(Part, Len, crypto:hash_init(sha256)) of
        {ok, Ctx} -> ota_trust:hex(crypto:hash_final(Ctx));
        _ -> undefined
    end.

%% @doc Feeds the first `Len' bytes of `Part' into a hash context, 4 KB at a time (a resumed upload
%% hashes what is already on flash this way).
-spec hash_prefix(binary(), non_neg_integer(), term()) -> {ok, term()} | {error, term()}.
hash_prefix(Part, Len, Ctx) -> hash_prefix(Part, 0, Len, Ctx).

hash_prefix(_Part, At, Len, Ctx) when At >= Len -> {ok, Ctx};
hash_prefix(Part, At, Len, Ctx) ->
    N = min(?PIECE, Len - At),
    case device_flash:read(Part, At, N) of
        {ok, Bin} when byte_size(Bin) =:= N -> hash_prefix(Part, At + N, Len, crypto:hash_update(Ctx, Bin));
        {ok, _} -> {error, short_read};
        Error -> Error
    end.
