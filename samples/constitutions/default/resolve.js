// Part 3 of 4: resolve by strict majority of the Active members.
function activeMemberCount() {
  let count = 0;
  ccf.kv['public:ccf.gov.members.info'].forEach((value) => {
    if (ccf.bufToJsonCompatible(value).status === 'Active') count += 1;
  });
  return count;
}

export function resolve(proposal, proposerId, votes, proposalId) {
  const active = activeMemberCount();
  const inFavour = votes.filter((v) => v.vote).length;
  const against = votes.length - inFavour;
  if (inFavour > Math.floor(active / 2)) return 'Accepted';
  // Rejected once the votes left cannot make a majority any more.
  if (active - against <= Math.floor(active / 2)) return 'Rejected';
  return 'Open';
}
