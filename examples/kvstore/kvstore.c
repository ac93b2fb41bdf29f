/*
 * kvstore: a smart-contract-style token ledger. The guest keeps no state of
 * its own between calls: every balance lives in the host's key-value
 * storage, reached through host imports, so the state outlives the instance.
 * There is no main: the host calls the exports.
 *
 * Storage layout (values are little-endian u32 unless noted):
 *   "owner"           the account init() minted the initial supply to
 *   "supply"          total tokens in existence
 *   "bal:<account>"   an account's balance (absent = 0)
 *   "name:<account>"  an account's display name (UTF-8 bytes, set_name)
 */
#include "rvbox.h"

/* Copies up to `value_cap` bytes of the value stored under the key to
   `value`; returns the value's full length, or -1 if the key is absent. */
RVBOX_IMPORT(int32_t, storage_get,
             (const char *key, uint32_t key_len, void *value, uint32_t value_cap))
/* Stores `value_len` bytes at `value` under the key. */
RVBOX_IMPORT(void, storage_set,
             (const char *key, uint32_t key_len, const void *value, uint32_t value_len))
/* Copies up to `cap` bytes of the caller's input (a byte string the host
   provides with the call) to `buf`; returns the input's full length. */
RVBOX_IMPORT(uint32_t, caller_input, (void *buf, uint32_t cap))

/* Results of the state-changing exports. */
enum {
  OK = 0,
  ERR_ALREADY_INITIALIZED = 1, /* init() was called before */
  ERR_INSUFFICIENT_FUNDS = 2,  /* transfer() of more than the balance */
  ERR_OVERFLOW = 3,            /* a balance or the supply would exceed 2^32 - 1 */
  ERR_CORRUPT = 4,             /* a stored value has the wrong size */
  ERR_BAD_INPUT = 5,           /* set_name(): empty, too long or not printable ASCII */
};

#define MAX_NAME 32

/* A storage key: a prefix plus an optional decimal account number. */
typedef struct {
  char text[24];
  uint32_t len;
} storage_key;

static storage_key make_key(const char *prefix, bool with_account, uint32_t account) {
  storage_key key;
  key.len = (uint32_t)strlen(prefix);
  memcpy(key.text, prefix, key.len);
  if (with_account) {
    char digits[10];
    uint32_t n = 0;
    do {
      digits[n++] = (char)('0' + account % 10);
      account /= 10;
    } while (account != 0);
    while (n > 0) key.text[key.len++] = digits[--n];
  }
  return key;
}

static storage_key balance_key(uint32_t account) { return make_key("bal:", true, account); }

/* Reads a u32 value; an absent key reads as 0. */
static int load_u32(storage_key key, uint32_t *value) {
  uint32_t stored = 0;
  int32_t len = storage_get(key.text, key.len, &stored, sizeof stored);
  if (len >= 0 && len != (int32_t)sizeof stored) return ERR_CORRUPT;
  *value = stored; /* RISC-V is little-endian, like the storage format */
  return OK;
}

static void store_u32(storage_key key, uint32_t value) {
  storage_set(key.text, key.len, &value, sizeof value);
}

/* Adds `amount` to a balance and to the supply (minting). */
static int32_t mint(uint32_t account, uint32_t amount) {
  uint32_t balance, supply;
  int err = load_u32(balance_key(account), &balance);
  if (err == OK) err = load_u32(make_key("supply", false, 0), &supply);
  if (err != OK) return err;
  if (supply + amount < supply) return ERR_OVERFLOW; /* balance <= supply */
  store_u32(balance_key(account), balance + amount);
  store_u32(make_key("supply", false, 0), supply + amount);
  return OK;
}

/* One-time setup: mints `supply` tokens to `owner`. */
RVBOX_EXPORT(init) int32_t init(uint32_t owner, uint32_t supply) {
  storage_key key = make_key("owner", false, 0);
  if (storage_get(key.text, key.len, NULL, 0) >= 0) return ERR_ALREADY_INITIALIZED;
  store_u32(key, owner);
  return mint(owner, supply);
}

/* Credits `amount` new tokens to `account`. */
RVBOX_EXPORT(deposit) int32_t deposit(uint32_t account, uint32_t amount) {
  return mint(account, amount);
}

/* Moves `amount` tokens from `from` to `to`; nothing changes on error. */
RVBOX_EXPORT(transfer) int32_t transfer(uint32_t from, uint32_t to, uint32_t amount) {
  uint32_t from_balance, to_balance;
  int err = load_u32(balance_key(from), &from_balance);
  if (err == OK) err = load_u32(balance_key(to), &to_balance);
  if (err != OK) return err;
  if (from_balance < amount) return ERR_INSUFFICIENT_FUNDS;
  if (from == to) return OK;
  if (to_balance + amount < to_balance) return ERR_OVERFLOW;
  store_u32(balance_key(from), from_balance - amount);
  store_u32(balance_key(to), to_balance + amount);
  return OK;
}

/* The balance of `account` (0 if it never held tokens or storage is corrupt). */
RVBOX_EXPORT(balance_of) uint32_t balance_of(uint32_t account) {
  uint32_t balance;
  return load_u32(balance_key(account), &balance) == OK ? balance : 0;
}

/* All tokens in existence. */
RVBOX_EXPORT(total_supply) uint32_t total_supply(void) {
  uint32_t supply;
  return load_u32(make_key("supply", false, 0), &supply) == OK ? supply : 0;
}

/* Sets the display name of `account` from the caller's input. */
RVBOX_EXPORT(set_name) int32_t set_name(uint32_t account) {
  char name[MAX_NAME];
  uint32_t len = caller_input(name, sizeof name);
  if (len == 0 || len > sizeof name) return ERR_BAD_INPUT;
  for (uint32_t i = 0; i < len; i++) {
    if (name[i] < ' ' || name[i] > '~') return ERR_BAD_INPUT;
  }
  storage_key key = make_key("name:", true, account);
  storage_set(key.text, key.len, name, len);
  return OK;
}
